/* Minimal xclbin writer for the xrt backend's tests; see xclbin_gen.h. The structures are XRT's
 * own (xclbin.h); the kernel's argument list is the ABI header's, so the generated metadata
 * always matches what fpga/xrt/backend_xrt.c expects of a real build of kernels/vitis. */
#include "xclbin_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xclbin.h>

#include "vitis/lartrig_xrt_abi.h"

#define GEN_MAX_CUS   16U
#define GEN_CU_BASE   0x1800000ULL /* where v++ usually places the first CU's registers */
#define GEN_CU_STRIDE 0x10000ULL
#define GEN_HBM_BASE  0x4000000000ULL
#define GEN_HBM_KB    (256ULL * 1024) /* 256 MiB per HBM pseudo-channel, as on a U55C */
#define GEN_MAX_XML   16384U

/* One row per kernel argument: name, C type, pointer or scalar. Order = LT_XRT_ARG_*. */
static const struct {
    const char *name;
    const char *type;
    int is_pointer;
} gen_args[LT_XRT_N_ARGS] = {
    [LT_XRT_ARG_WEIGHTS] = {"weights", "void*", 1},
    [LT_XRT_ARG_FRAMES] = {"frames", "void*", 1},
    [LT_XRT_ARG_STATE] = {"state", "void*", 1},
    [LT_XRT_ARG_OUT] = {"out", "void*", 1},
    [LT_XRT_ARG_WEIGHTS_BYTES] = {"weights_bytes", "unsigned int", 0},
    [LT_XRT_ARG_WEIGHTS_GEN] = {"weights_gen", "unsigned int", 0},
    [LT_XRT_ARG_N_PERIODS] = {"n_periods", "unsigned int", 0},
    [LT_XRT_ARG_THRESHOLD] = {"threshold", "int", 0},
    [LT_XRT_ARG_GAP_W] = {"gap_w", "unsigned int", 0},
    [LT_XRT_ARG_GAP_T] = {"gap_t", "unsigned int", 0},
    [LT_XRT_ARG_FLAGS] = {"flags", "unsigned int", 0},
    [LT_XRT_ARG_SEQUENCE] = {"sequence", "unsigned int", 0},
};

/* Control-register offset of each argument as Vitis HLS lays out an ap_ctrl_hs block: control
 * and interrupt registers at 0x00-0x0f, then 64-bit pointers 12 bytes apart, 32-bit scalars 8. */
static uint32_t gen_arg_offset(int idx)
{
    uint32_t off = 0x10;
    for (int i = 0; i < idx; i++) off += gen_args[i].is_pointer ? 0xc : 0x8;
    return off;
}

/* The EMBEDDED_METADATA XML, reduced to what XRT's xclbin parser reads: kernels, their ports and
 * arguments (offsets, sizes, address qualifiers) and instances. */
static int gen_xml(const struct lt_xclbin_spec *s, char *xml, size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(xml + n, cap - n, __VA_ARGS__);                                          \
        if (w_ < 0 || (size_t)w_ >= cap - n) return -1;                                            \
        n += (size_t)w_;                                                                           \
    } while (0)
    PUT("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"lartrig_test\">\n"
        " <platform vendor=\"xilinx\" boardid=\"u55c\" name=\"lartrig_noop_test\" "
        "featureRomTime=\"0\">\n  <version major=\"1\" minor=\"0\"/>\n"
        "  <device name=\"fpga0\" fpgaDevice=\"virtexuplusHBM\" addrWidth=\"0\">\n"
        "   <core name=\"OCL_REGION_0\" target=\"bitstream\" type=\"clc_region\" "
        "clockFreq=\"300MHz\" numComputeUnits=\"%u\">\n",
        s->compute_units);
    PUT("    <kernel name=\"%s\" language=\"c\" vlnv=\"xilinx.com:hls:%s:1.0\" "
        "preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\" "
        "hwControlProtocol=\"ap_ctrl_hs\">\n",
        s->kernel_name, s->kernel_name);
    for (int i = 0; i < LT_XRT_N_ARGS; i++)
        if (gen_args[i].is_pointer)
            PUT("     <port name=\"M_AXI_GMEM%d\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" "
                "dataWidth=\"512\" portType=\"addressable\" base=\"0x0\"/>\n",
                i);
    PUT("     <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"0x1000\" dataWidth=\"32\" "
        "portType=\"addressable\" base=\"0x0\"/>\n");
    for (int i = 0; i < LT_XRT_N_ARGS; i++) {
        char port[32];
        if (gen_args[i].is_pointer)
            snprintf(port, sizeof port, "M_AXI_GMEM%d", i);
        else
            snprintf(port, sizeof port, "S_AXI_CONTROL");
        PUT("     <arg name=\"%s\" addressQualifier=\"%d\" id=\"%d\" port=\"%s\" size=\"0x%x\" "
            "offset=\"0x%x\" hostOffset=\"0x0\" hostSize=\"0x%x\" type=\"%s\"/>\n",
            gen_args[i].name, gen_args[i].is_pointer ? 1 : 0, i, port,
            gen_args[i].is_pointer ? 8 : 4, gen_arg_offset(i), gen_args[i].is_pointer ? 8 : 4,
            gen_args[i].type);
    }
    for (uint32_t cu = 0; cu < s->compute_units; cu++)
        PUT("     <instance name=\"%s_%u\">\n      <addrRemap base=\"0x%llx\" "
            "port=\"S_AXI_CONTROL\"/>\n     </instance>\n",
            s->kernel_name, cu + 1, (unsigned long long)(GEN_CU_BASE + cu * GEN_CU_STRIDE));
    PUT("    </kernel>\n   </core>\n  </device>\n </platform>\n</project>\n");
#undef PUT
    return (int)n;
}

struct gen_section {
    enum axlf_section_kind kind;
    const char *name;
    const void *data;
    size_t size;
};

static size_t align8(size_t v)
{
    return (v + 7U) & ~(size_t)7U;
}

int lt_xclbin_gen(const struct lt_xclbin_spec *s, uint8_t **out, size_t *len)
{
    if (!s || !s->kernel_name || !out || !len || s->compute_units == 0 ||
        s->compute_units > GEN_MAX_CUS || s->banks == 0 || s->banks > 32 ||
        strlen(s->kernel_name) > 24)
        return -1;
    const uint32_t ncu = s->compute_units, nbank = s->banks, nptr = LT_XRT_FIRST_SCALAR_ARG;

    /* Build every section in its own buffer first, then lay them out after the headers. */
    size_t ip_sz = sizeof(struct ip_layout) + (ncu - 1) * sizeof(struct ip_data);
    size_t mem_sz = sizeof(struct mem_topology) + (nbank - 1) * sizeof(struct mem_data);
    size_t con_sz = sizeof(struct connectivity) + (ncu * nptr - 1) * sizeof(struct connection);
    struct ip_layout *ip = calloc(1, ip_sz);
    struct mem_topology *mem = calloc(1, mem_sz);
    struct connectivity *con = calloc(1, con_sz);
    char *xml = malloc(GEN_MAX_XML);
    uint8_t *img = NULL;
    int rc = -1;
    if (!ip || !mem || !con || !xml) goto done;

    ip->m_count = (int32_t)ncu;
    for (uint32_t cu = 0; cu < ncu; cu++) {
        struct ip_data *d = &ip->m_ip_data[cu];
        d->m_type = IP_KERNEL;
        d->properties = IP_INT_ENABLE_MASK |
                        ((cu << IP_INTERRUPT_ID_SHIFT) & IP_INTERRUPT_ID_MASK) |
                        ((uint32_t)AP_CTRL_HS << IP_CONTROL_SHIFT);
        d->m_base_address = GEN_CU_BASE + cu * GEN_CU_STRIDE;
        snprintf((char *)d->m_name, sizeof d->m_name, "%s:%s_%u", s->kernel_name, s->kernel_name,
                 cu + 1);
    }
    mem->m_count = (int32_t)nbank;
    for (uint32_t b = 0; b < nbank; b++) {
        struct mem_data *m = &mem->m_mem_data[b];
        m->m_type = MEM_HBM;
        m->m_used = 1;
        m->m_size = GEN_HBM_KB;
        m->m_base_address = GEN_HBM_BASE + b * GEN_HBM_KB * 1024;
        snprintf((char *)m->m_tag, sizeof m->m_tag, "HBM[%u]", b);
    }
    con->m_count = (int32_t)(ncu * nptr);
    for (uint32_t cu = 0; cu < ncu; cu++)
        for (uint32_t a = 0; a < nptr; a++) {
            struct connection *c = &con->m_connection[cu * nptr + a];
            c->arg_index = (int32_t)a;
            c->m_ip_layout_index = (int32_t)cu;
            c->mem_data_index = (int32_t)(cu % nbank);
        }
    int xml_len = gen_xml(s, xml, GEN_MAX_XML);
    if (xml_len < 0) goto done;

    /* Group sections: without grouping they are identical to the plain ones, which is what
     * v++ emits for a design whose banks are not grouped. */
    const struct gen_section all[] = {
        {IP_LAYOUT, "ip_layout", ip, ip_sz},
        {MEM_TOPOLOGY, "mem_topology", mem, mem_sz},
        {CONNECTIVITY, "connectivity", con, con_sz},
        {ASK_GROUP_TOPOLOGY, "group_topology", mem, mem_sz},
        {ASK_GROUP_CONNECTIVITY, "group_connectivity", con, con_sz},
        {EMBEDDED_METADATA, "metadata", xml, (size_t)xml_len},
    };
    struct gen_section sec[sizeof all / sizeof all[0]];
    uint32_t nsec = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!(s->omit_sections & (1U << all[i].kind))) sec[nsec++] = all[i];

    size_t hdr = sizeof(struct axlf) + (nsec - 1) * sizeof(struct axlf_section_header);
    size_t total = align8(hdr);
    for (uint32_t i = 0; i < nsec; i++) total += align8(sec[i].size);
    img = calloc(1, total);
    if (!img) goto done;

    struct axlf *top = (struct axlf *)img;
    memcpy(top->m_magic, "xclbin2", 8);
    top->m_signature_length = -1;
    memset(top->reserved, 0xff, sizeof top->reserved);
    memset(top->m_keyBlock, 0xff, sizeof top->m_keyBlock);
    top->m_uniqueId = 0;
    top->m_header.m_length = total;
    top->m_header.m_timeStamp = (uint64_t)time(NULL);
    top->m_header.m_versionMajor = 2;
    top->m_header.m_versionMinor = 13;
    top->m_header.m_mode = s->mode;
    snprintf((char *)top->m_header.m_platformVBNV, sizeof top->m_header.m_platformVBNV,
             "xilinx_u55c_gen3x16_xdma_3_202210_1");
    memcpy(&top->m_header.uuid, s->uuid, 16);
    top->m_header.m_numSections = nsec;

    size_t off = align8(hdr);
    for (uint32_t i = 0; i < nsec; i++) {
        struct axlf_section_header *h = &top->m_sections[i];
        h->m_sectionKind = sec[i].kind;
        snprintf(h->m_sectionName, sizeof h->m_sectionName, "%s", sec[i].name);
        h->m_sectionOffset = off;
        h->m_sectionSize = sec[i].size;
        memcpy(img + off, sec[i].data, sec[i].size);
        off += align8(sec[i].size);
    }
    *out = img;
    *len = total;
    img = NULL;
    rc = 0;
done:
    free(img);
    free(ip);
    free(mem);
    free(con);
    free(xml);
    return rc;
}

int lt_xclbin_gen_file(const struct lt_xclbin_spec *s, const char *path)
{
    uint8_t *img;
    size_t len;
    if (lt_xclbin_gen(s, &img, &len) != 0) return -1;
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (f) {
        if (fwrite(img, 1, len, f) == len) rc = 0;
        if (fclose(f) != 0) rc = -1;
    }
    free(img);
    return rc;
}
