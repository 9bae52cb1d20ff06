/* Writes the seed corpora of the fuzz targets from the real encoders, so seeds follow the formats
 * when they change. Usage: fuzz_seedgen tests/fuzz/corpus   (run by hand; seeds are committed) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daqfmt.h"
#include "h5raw.h"
#include "msg.h"
#include "wibeth.h"

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static void msg_seeds(void)
{
    static uint8_t buf[1 << 20];
    size_t len;
    lt_msg_encode_heartbeat(buf, sizeof buf, 3, 7, 123456, &len);
    put("msg", "heartbeat", buf, len);
    struct lt_candidate c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (struct lt_candidate){.time_start = 1000u + 100u * i,
                                     .time_end = 1500u + 100u * i,
                                     .time_peak = 1200u + 100u * i,
                                     .cell = 3,
                                     .channel_start = 10,
                                     .channel_end = 20,
                                     .peak_score = 900,
                                     .adc_sum = 5000,
                                     .n_pixels = 12};
    lt_msg_encode_candidates(buf, sizeof buf, 3, 8, 2000, c, 3, &len);
    put("msg", "candidates", buf, len);
    struct lt_msg_data_request req = {.trigger_number = 1,
                                      .trigger_timestamp = 70000,
                                      .window_begin = 0,
                                      .window_end = 140625,
                                      .request_id = 9,
                                      .run_number = 5,
                                      .cell = 3};
    lt_msg_encode_data_request(buf, sizeof buf, 1, &req, &len);
    put("msg", "request", buf, len);
    struct lt_msg_reply_builder b;
    struct lt_msg_reply_info info = {.request_id = 9, .trigger_number = 1, .cell = 3};
    lt_msg_reply_begin(&b, buf, sizeof buf, 1, 2000, &info);
    static lt_wibeth_frame frames[2];
    struct lt_fragment_header h = {
        .trigger_number = 1,
        .window_end = 4096,
        .run_number = 5,
        .fragment_type = LT_FRAGTYPE_WIBETH,
        .detector_id = LT_DETID_HD_TPC,
        .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, 0x301}};
    lt_msg_reply_add_fragment(&b, &h, frames, sizeof frames);
    h.error_bits = 1u << LT_FRAG_ERR_DATA_NOT_FOUND;
    lt_msg_reply_add_fragment(&b, &h, NULL, 0);
    lt_msg_reply_finish(&b, &len);
    put("msg", "reply", buf, len);
}

static void frame_seeds(void)
{
    static lt_wibeth_frame f;
    static uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
    for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
        for (unsigned ch = 0; ch < LT_WIBETH_CHANNELS; ch++) adc[s][ch] = (uint16_t)(900 + s + ch);
    struct lt_daqeth_header h = {.version = LT_DAQETH_VERSION,
                                 .det_id = 3,
                                 .crate = 1,
                                 .slot = 2,
                                 .stream = 5,
                                 .seq_id = 17,
                                 .timestamp = 123456789};
    lt_daqeth_encode(&f, &h);
    lt_wibeth_pack(&f, adc);
    put("wibeth", "frame", &f, sizeof f);
}

static void daqfmt_seeds(void)
{
    uint8_t buf[1 + 128];
    struct lt_fragment_header fh = {.size = 72 + 7200,
                                    .trigger_number = 4,
                                    .window_end = 10,
                                    .fragment_type = LT_FRAGTYPE_WIBETH,
                                    .detector_id = 3,
                                    .element_id = {2, 1, 0x305}};
    buf[0] = 0;
    lt_fragment_header_encode(&fh, buf + 1, 128);
    put("daqfmt", "fragment_header", buf, 1 + LT_FRAGMENT_HEADER_SIZE);
    struct lt_trigger_record_header trh = {.trigger_number = 4,
                                           .trigger_timestamp = 99,
                                           .num_requested_components = 2,
                                           .run_number = 1,
                                           .element_id = {2, 4, 0}};
    buf[0] = 1;
    lt_trh_encode(&trh, buf + 1, 128);
    put("daqfmt", "trh", buf, 1 + LT_TRH_SIZE);
    struct lt_component_request cr = {
        .component = {2, 1, 0x305}, .window_begin = 5, .window_end = 9};
    buf[0] = 2;
    lt_component_request_encode(&cr, buf + 1, 128);
    put("daqfmt", "component_request", buf, 1 + LT_COMPONENT_REQUEST_SIZE);
    struct lt_timeslice_header tsh = {
        .timeslice_number = 3, .run_number = 1, .element_id = {2, 4, 0}};
    buf[0] = 3;
    lt_tsh_encode(&tsh, buf + 1, 128);
    put("daqfmt", "tsh", buf, 1 + LT_TSH_SIZE);
}

static void h5_seed(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/h5file", root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/h5file/run.h5", root);
    remove(path);
    struct lt_h5_file_attrs attrs = {.record_type = LT_H5_TIMESLICE, .run_number = 1};
    snprintf(attrs.application_name, sizeof attrs.application_name, "seedgen");
    snprintf(attrs.operational_environment, sizeof attrs.operational_environment, "lartrig");
    snprintf(attrs.offline_data_stream, sizeof attrs.offline_data_stream, "sim");
    struct lt_h5w *w = NULL;
    char err[512];
    if (lt_h5w_open(&w, path, &attrs, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    static lt_wibeth_frame frame;
    struct lt_timeslice_header tsh = {
        .timeslice_number = 1, .run_number = 1, .element_id = {2, LT_SUBSYS_TR_BUILDER, 0}};
    struct lt_fragment_header fh = {.trigger_number = 1,
                                    .window_end = 2048,
                                    .run_number = 1,
                                    .fragment_type = LT_FRAGTYPE_WIBETH,
                                    .detector_id = 3,
                                    .element_id = {2, LT_SUBSYS_DETECTOR_READOUT, 0x001}};
    struct lt_h5_fragment_in in = {&fh, &frame, sizeof frame};
    struct lt_truth t = {.time = 100,
                         .cell = 0,
                         .channel_start = 1,
                         .channel_end = 3,
                         .kind = LT_TRUTH_LOW_ENERGY,
                         .energy_mev = 12,
                         .time_end = 400};
    if (lt_h5w_write_timeslice(w, &tsh, &in, 1, err, sizeof err) != 0 ||
        lt_h5w_append_truth(w, &t, 1, err, sizeof err) != 0 ||
        lt_h5w_close(w, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seedgen CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    msg_seeds();
    frame_seeds();
    daqfmt_seeds();
    h5_seed();
    return 0;
}
