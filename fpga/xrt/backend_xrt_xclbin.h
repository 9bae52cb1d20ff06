/* What the xrt backend checks before it lets XRT touch anything: the runtime environment (XRT
 * 2.13 aborts the whole process, from inside its error reporting, when XILINX_XRT is unset or
 * its shim library cannot be loaded) and the xclbin file itself (readable, an axlf container of
 * consistent size, holding compute units of the requested kernel). Each check names the file,
 * variable or kernel it refused, so a misconfigured card is a one-line diagnosis. */
#ifndef LARTRIG_BACKEND_XRT_XCLBIN_H
#define LARTRIG_BACKEND_XRT_XCLBIN_H

#include <stddef.h>
#include <stdint.h>

#define LT_XRT_MAX_CUS     64U
#define LT_XRT_CU_NAME_LEN 64U /* ip_data.m_name is 64 bytes */

/* Check that XRT can load its shim without aborting: XILINX_XRT set, XCL_EMULATION_MODE unset or
 * one XRT knows (sw_emu and hw_emu also need XILINX_VITIS), and $XILINX_XRT/lib/lib<shim>.so.2 a
 * loadable library (it is dlopen'ed here, as XRT would, so a load failure becomes an error message
 * instead of std::terminate). 0 or LT_ENOTFOUND / LT_EINVAL / LT_EIO with a message. */
int lt_xrt_env_check(char *err, size_t errlen);

struct lt_xrt_xclbin {
    uint8_t *image; /* the whole file (XRT loads it from here) */
    size_t size;
    uint8_t uuid[16];
    uint16_t mode;     /* enum XCLBIN_MODE: hardware, hw_emu or sw_emu build */
    uint32_t n_cus;    /* compute units of the requested kernel, in IP_LAYOUT order */
    int names_assumed; /* sw_emu xclbin without IP_LAYOUT: CUs are <kernel>_1.. by convention */
    char cu_name[LT_XRT_MAX_CUS][LT_XRT_CU_NAME_LEN]; /* instance names, e.g. "lartrig_top_1" */
    uint32_t cu_ip_index[LT_XRT_MAX_CUS];             /* their IP_LAYOUT entries */
};

/* Read and check an xclbin and find the compute units of kernel_name. LT_EIO (unreadable),
 * LT_EMAGIC (not an xclbin), LT_ESHORT / LT_EFORMAT (truncated or inconsistent container),
 * LT_ENOTFOUND (no IP_LAYOUT or no compute unit of that kernel; the message lists the kernels the
 * file does have), LT_EFORMAT also when a buffer argument of a CU is bound to no memory bank. On
 * success the caller owns x->image (lt_xrt_xclbin_free). */
int lt_xrt_xclbin_read(const char *path, const char *kernel_name, struct lt_xrt_xclbin *x,
                       char *err, size_t errlen);
void lt_xrt_xclbin_free(struct lt_xrt_xclbin *x);

/* The xclbin's target must match XCL_EMULATION_MODE (unset: hardware; sw_emu; hw_emu; noop takes
 * anything): XRT's emulation shims hang or exit on a mismatch. 0 or LT_EINVAL. */
int lt_xrt_xclbin_check_mode(const char *path, const struct lt_xrt_xclbin *x, char *err,
                             size_t errlen);

#endif
