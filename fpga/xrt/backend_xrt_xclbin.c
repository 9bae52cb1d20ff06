/* Pre-flight checks of the xrt backend: XRT's runtime environment and the xclbin file. See
 * backend_xrt_xclbin.h for why they exist. Compiled only with LARTRIG_HAVE_XRT (XRT's xclbin.h
 * gives the container layout). */
#ifdef LARTRIG_HAVE_XRT

#include "backend_xrt_xclbin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xclbin.h>

#include "lt_error.h"
#include "vitis/lartrig_xrt_abi.h"

#define XRT_SHIM_MAJOR   "2"          /* XRT loads lib<shim>.so.<major> */
#define XCLBIN_MAX_BYTES (1ULL << 30) /* real xclbins are tens to hundreds of MB */

int lt_xrt_env_check(char *err, size_t errlen)
{
    const char *root = getenv("XILINX_XRT");
    if (!root || !*root) {
        lt_seterr(err, errlen,
                  "xrt: XILINX_XRT is not set (source /opt/xilinx/xrt/setup.sh, or point it at "
                  "a directory whose lib/ holds libxrt_core.so." XRT_SHIM_MAJOR ")");
        return LT_ENOTFOUND;
    }
    /* The shim XRT will pick, by the same rule as its module loader. */
    const char *mode = getenv("XCL_EMULATION_MODE");
    const char *shim = "xrt_core";
    if (mode) {
        if (strcmp(mode, "noop") == 0)
            shim = "xrt_noop";
        else if (strcmp(mode, "sw_emu") == 0)
            shim = "xrt_swemu";
        else if (strcmp(mode, "hw_emu") == 0)
            shim = "xrt_hwemu";
        else {
            lt_seterr(err, errlen,
                      "xrt: XCL_EMULATION_MODE='%s' is not one of sw_emu, hw_emu, noop (unset it "
                      "to use a card)",
                      mode);
            return LT_EINVAL;
        }
    }
    /* The emulation shims need a Vitis installation: without one, XRT 2.13's sw_emu shim calls
     * exit() or blocks in a buffer allocation, and hw_emu waits forever for its simulator. */
    if (mode && (strcmp(mode, "sw_emu") == 0 || strcmp(mode, "hw_emu") == 0)) {
        const char *vitis = getenv("XILINX_VITIS");
        struct stat vs;
        if (!vitis || !*vitis || stat(vitis, &vs) != 0 || !S_ISDIR(vs.st_mode)) {
            lt_seterr(err, errlen,
                      "xrt: XCL_EMULATION_MODE=%s needs Vitis: XILINX_VITIS is %s (source "
                      "Vitis' settings64.sh; build the xclbin with TARGET=%s and emconfigutil)",
                      mode, vitis && *vitis ? "not a directory" : "not set", mode);
            return LT_ENOTFOUND;
        }
    }
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/lib/lib%s.so." XRT_SHIM_MAJOR, root, shim);
    if (n < 0 || (size_t)n >= sizeof path) {
        lt_seterr(err, errlen, "xrt: XILINX_XRT path too long");
        return LT_EINVAL;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        lt_seterr(err, errlen, "xrt: shim library %s not found (XILINX_XRT=%s%s%s)", path, root,
                  mode ? ", XCL_EMULATION_MODE=" : "", mode ? mode : "");
        return LT_ENOTFOUND;
    }
    /* Load it now with XRT's own flags: if it fails here we can say so; inside XRT the failure
     * ends in std::terminate. The handle stays open, as XRT keeps it. */
    if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
        const char *why = dlerror();
        lt_seterr(err, errlen, "xrt: cannot load shim library %s: %s", path, why ? why : "?");
        return LT_EIO;
    }
    return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        lt_seterr(err, errlen, "xrt: cannot open xclbin %s: %s", path, strerror(errno));
        return LT_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        lt_seterr(err, errlen, "xrt: xclbin %s is not a regular file", path);
        fclose(f);
        return LT_EIO;
    }
    if ((unsigned long long)st.st_size > XCLBIN_MAX_BYTES) {
        lt_seterr(err, errlen, "xrt: xclbin %s is %lld bytes, more than the 1 GiB limit", path,
                  (long long)st.st_size);
        fclose(f);
        return LT_ERANGE;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        lt_seterr(err, errlen, "xrt: no memory for xclbin %s (%zu bytes)", path, size);
        return LT_ENOMEM;
    }
    if (fread(buf, 1, size, f) != size) {
        lt_seterr(err, errlen, "xrt: short read of xclbin %s", path);
        free(buf);
        fclose(f);
        return LT_EIO;
    }
    fclose(f);
    *out = buf;
    *len = size;
    return 0;
}

/* The first section of a kind (check_container has bounds-checked them all), or NULL. */
static const struct axlf_section_header *find_section(const struct axlf *top,
                                                      enum axlf_section_kind kind)
{
    for (uint32_t i = 0; i < top->m_header.m_numSections; i++) {
        const struct axlf_section_header *h = &top->m_sections[i];
        if (h->m_sectionKind == (uint32_t)kind) return h;
    }
    return NULL;
}

/* Container checks: magic, header and section table inside the file, every section inside it. */
static int check_container(const char *path, const uint8_t *img, size_t size, char *err,
                           size_t errlen)
{
    if (size < sizeof(struct axlf)) {
        lt_seterr(err, errlen, "xrt: %s is %zu bytes, too short for an xclbin header (%zu)", path,
                  size, sizeof(struct axlf));
        return LT_ESHORT;
    }
    const struct axlf *top = (const struct axlf *)img;
    if (memcmp(top->m_magic, "xclbin2", 8) != 0) {
        lt_seterr(err, errlen, "xrt: %s is not an xclbin (magic is not \"xclbin2\")", path);
        return LT_EMAGIC;
    }
    if (top->m_header.m_length != size) {
        lt_seterr(err, errlen, "xrt: %s: header says %llu bytes, file has %zu (truncated?)", path,
                  (unsigned long long)top->m_header.m_length, size);
        return LT_EFORMAT;
    }
    uint64_t nsec = top->m_header.m_numSections;
    if (nsec == 0 || nsec > XCLBIN_MAX_NUM_SECTION ||
        sizeof(struct axlf) + (nsec - 1) * sizeof(struct axlf_section_header) > size) {
        lt_seterr(err, errlen, "xrt: %s: section table of %llu entries does not fit the file", path,
                  (unsigned long long)nsec);
        return LT_EFORMAT;
    }
    for (uint64_t i = 0; i < nsec; i++) {
        const struct axlf_section_header *h = &top->m_sections[i];
        if (h->m_sectionOffset > size || h->m_sectionSize > size - h->m_sectionOffset) {
            lt_seterr(err, errlen, "xrt: %s: section %llu (kind %u) lies outside the file", path,
                      (unsigned long long)i, h->m_sectionKind);
            return LT_EFORMAT;
        }
    }
    return 0;
}

/* Compute units of kernel_name from IP_LAYOUT ("kernel:instance" names). */
static int find_cus(const char *path, const uint8_t *img, const char *kernel_name,
                    struct lt_xrt_xclbin *x, char *err, size_t errlen)
{
    const struct axlf *top = (const struct axlf *)img;
    const struct axlf_section_header *h = find_section(top, IP_LAYOUT);
    if (!h || h->m_sectionSize < sizeof(int32_t)) {
        if (top->m_header.m_mode == XCLBIN_SW_EMU) {
            /* v++ leaves IP_LAYOUT out of sw_emu builds: assume its default instance names,
             * <kernel>_1 .. _N (N from the config; XRT knows the rest from the metadata). */
            x->n_cus = 0;
            x->names_assumed = 1;
            return 0;
        }
        lt_seterr(err, errlen, "xrt: %s has no IP_LAYOUT section: not a hardware xclbin", path);
        return LT_ENOTFOUND;
    }
    const struct ip_layout *ip = (const struct ip_layout *)(img + h->m_sectionOffset);
    size_t room =
        (h->m_sectionSize - offsetof(struct ip_layout, m_ip_data)) / sizeof(struct ip_data);
    if (ip->m_count < 0 || (size_t)ip->m_count > room) {
        lt_seterr(err, errlen, "xrt: %s: IP_LAYOUT claims %d entries, its section holds %zu", path,
                  ip->m_count, room);
        return LT_EFORMAT;
    }
    size_t klen = strlen(kernel_name);
    char others[256] = "";
    size_t olen = 0;
    x->n_cus = 0;
    for (int32_t i = 0; i < ip->m_count; i++) {
        const struct ip_data *d = &ip->m_ip_data[i];
        if (d->m_type != IP_KERNEL) continue;
        char name[sizeof d->m_name + 1];
        memcpy(name, d->m_name, sizeof d->m_name);
        name[sizeof d->m_name] = '\0';
        if (strncmp(name, kernel_name, klen) == 0 && name[klen] == ':') {
            if (x->n_cus == LT_XRT_MAX_CUS) {
                lt_seterr(err, errlen, "xrt: %s has more than %u compute units of %s", path,
                          LT_XRT_MAX_CUS, kernel_name);
                return LT_ERANGE;
            }
            x->cu_ip_index[x->n_cus] = (uint32_t)i;
            snprintf(x->cu_name[x->n_cus++], LT_XRT_CU_NAME_LEN, "%s", name + klen + 1);
        } else if (olen + strlen(name) + 3 < sizeof others) {
            olen += (size_t)snprintf(others + olen, sizeof others - olen, "%s%s", olen ? ", " : "",
                                     name);
        }
    }
    if (x->n_cus == 0) {
        lt_seterr(err, errlen, "xrt: %s has no compute unit of kernel '%s' (it has: %s)", path,
                  kernel_name, olen ? others : "no kernels");
        return LT_ENOTFOUND;
    }
    return 0;
}

/* Every buffer argument of every CU found must be bound to a memory bank (CONNECTIVITY, or its
 * grouped form): without that XRT cannot place the BOs and a kernel would read bank 0 blindly. */
static int check_connectivity(const char *path, const uint8_t *img, const char *kernel_name,
                              const struct lt_xrt_xclbin *x, char *err, size_t errlen)
{
    const struct axlf *top = (const struct axlf *)img;
    const struct axlf_section_header *h = find_section(top, ASK_GROUP_CONNECTIVITY);
    if (!h) h = find_section(top, CONNECTIVITY);
    const struct connectivity *con = NULL;
    size_t room = 0;
    if (h && h->m_sectionSize >= sizeof(int32_t)) {
        con = (const struct connectivity *)(img + h->m_sectionOffset);
        room = (h->m_sectionSize - offsetof(struct connectivity, m_connection)) /
               sizeof(struct connection);
        if (con->m_count < 0 || (size_t)con->m_count > room) {
            lt_seterr(err, errlen,
                      "xrt: %s: CONNECTIVITY claims %d entries, its section holds "
                      "%zu",
                      path, con->m_count, room);
            return LT_EFORMAT;
        }
    }
    for (uint32_t cu = 0; cu < x->n_cus; cu++)
        for (int arg = 0; arg < LT_XRT_FIRST_SCALAR_ARG; arg++) {
            int found = 0;
            for (int32_t i = 0; con && i < con->m_count && !found; i++)
                found = con->m_connection[i].arg_index == arg &&
                        con->m_connection[i].m_ip_layout_index == (int32_t)x->cu_ip_index[cu];
            if (!found) {
                lt_seterr(err, errlen,
                          "xrt: %s: argument %d of %s:%s is not connected to any "
                          "memory bank (was the xclbin linked with kernels/vitis/*.cfg?)",
                          path, arg, kernel_name, x->cu_name[cu]);
                return LT_EFORMAT;
            }
        }
    return 0;
}

int lt_xrt_xclbin_read(const char *path, const char *kernel_name, struct lt_xrt_xclbin *x,
                       char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    if (!path || !*path) {
        lt_seterr(err, errlen, "xrt: no xclbin configured (xclbin_path)");
        return LT_EINVAL;
    }
    if (!kernel_name || !*kernel_name || strchr(kernel_name, ':')) {
        lt_seterr(err, errlen, "xrt: kernel name '%s' is empty or contains ':'",
                  kernel_name ? kernel_name : "");
        return LT_EINVAL;
    }
    uint8_t *img;
    size_t size;
    int rc = read_file(path, &img, &size, err, errlen);
    if (rc) return rc;
    rc = check_container(path, img, size, err, errlen);
    if (!rc) rc = find_cus(path, img, kernel_name, x, err, errlen);
    if (!rc && !x->names_assumed) rc = check_connectivity(path, img, kernel_name, x, err, errlen);
    if (rc) {
        free(img);
        return rc;
    }
    memcpy(x->uuid, &((const struct axlf *)img)->m_header.uuid, 16);
    x->mode = ((const struct axlf *)img)->m_header.m_mode;
    x->image = img;
    x->size = size;
    return 0;
}

int lt_xrt_xclbin_check_mode(const char *path, const struct lt_xrt_xclbin *x, char *err,
                             size_t errlen)
{
    const char *mode = getenv("XCL_EMULATION_MODE");
    const char *want = "hw";
    int ok;
    if (mode && strcmp(mode, "noop") == 0) return 0; /* noop runs hardware xclbins, and any */
    if (mode && strcmp(mode, "sw_emu") == 0) {
        want = "sw_emu";
        ok = x->mode == XCLBIN_SW_EMU;
    } else if (mode && strcmp(mode, "hw_emu") == 0) {
        want = "hw_emu";
        ok = x->mode == XCLBIN_HW_EMU || x->mode == XCLBIN_HW_EMU_PR;
    } else {
        ok = x->mode == XCLBIN_FLAT || x->mode == XCLBIN_PR || x->mode == XCLBIN_TANDEM_STAGE2 ||
             x->mode == XCLBIN_TANDEM_STAGE2_WITH_PR;
    }
    if (ok) return 0;
    static const char *const names[] = {"hw",     "hw (PR)", "hw (tandem)", "hw (tandem PR)",
                                        "hw_emu", "sw_emu",  "hw_emu (PR)"};
    lt_seterr(err, errlen, "xrt: %s was built for %s, but XCL_EMULATION_MODE asks for %s", path,
              x->mode < sizeof names / sizeof names[0] ? names[x->mode] : "an unknown target",
              want);
    return LT_EINVAL;
}

void lt_xrt_xclbin_free(struct lt_xrt_xclbin *x)
{
    free(x->image);
    x->image = NULL;
    x->size = 0;
}

#endif /* LARTRIG_HAVE_XRT */
