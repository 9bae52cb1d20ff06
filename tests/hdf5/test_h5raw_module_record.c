/* A trigger record as big as a full module's (150 cells x 40 streams = 6000 fragments) through
 * the plain HDF5 writer and back: the record-level attributes that list every dataset grow past
 * the oldest file format's 64 KiB attribute limit, which the writer must handle. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chmap.h"
#include "h5raw.h"

#define N_CELLS   150
#define N_STREAMS 40

START_TEST(full_module_record)
{
    char dir[] = "/tmp/lt_h5_module_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/module.hdf5", dir);
    struct lt_h5_file_attrs attrs = {.record_type = LT_H5_TRIGGER_RECORD, .run_number = 7};
    snprintf(attrs.application_name, sizeof attrs.application_name, "test");
    snprintf(attrs.operational_environment, sizeof attrs.operational_environment, "lartrig");
    snprintf(attrs.offline_data_stream, sizeof attrs.offline_data_stream, "test");
    struct lt_h5w *w = NULL;
    char err[512] = "";
    ck_assert_msg(lt_h5w_open(&w, path, &attrs, NULL, err, sizeof err) == 0, "%s", err);

    size_t n = N_CELLS * N_STREAMS;
    struct lt_component_request *req = calloc(n, sizeof *req);
    struct lt_fragment_header *hdr = calloc(n, sizeof *hdr);
    struct lt_h5_fragment_in *in = calloc(n, sizeof *in);
    uint32_t payload = 0xC0FFEE;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = lt_stream_source_id((uint32_t)(i / N_STREAMS), (uint32_t)(i % N_STREAMS));
        req[i] = (struct lt_component_request){
            .component = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, id},
            .window_begin = 1000,
            .window_end = 2000};
        hdr[i] = (struct lt_fragment_header){.trigger_number = 1,
                                             .trigger_timestamp = 1500,
                                             .window_begin = 1000,
                                             .window_end = 2000,
                                             .run_number = 7,
                                             .fragment_type = LT_FRAGTYPE_WIBETH,
                                             .detector_id = LT_DETID_HD_TPC,
                                             .element_id = req[i].component};
        in[i] = (struct lt_h5_fragment_in){&hdr[i], &payload, sizeof payload};
    }
    struct lt_trigger_record_header trh = {
        .trigger_number = 1,
        .trigger_timestamp = 1500,
        .num_requested_components = n,
        .run_number = 7,
        .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0}};
    ck_assert_msg(lt_h5w_write_trigger_record(w, &trh, req, n, in, n, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);

    struct lt_h5r *r = NULL;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    struct lt_h5_dataset_info *ds = NULL;
    size_t nds = 0;
    ck_assert_msg(lt_h5r_list_datasets(r, 0, &ds, &nds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(nds, n + 1); /* fragments + the record header */
    struct lt_fragment_header h;
    uint8_t buf[LT_FRAGMENT_HEADER_SIZE + 4];
    size_t plen = 0;
    ck_assert_msg(lt_h5r_read_fragment(r, 0, ds[nds - 1].name, &h, buf, sizeof buf, &plen, err,
                                       sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(plen, 4);
    ck_assert_int_eq(memcmp(buf + LT_FRAGMENT_HEADER_SIZE, &payload, 4), 0);
    free(ds);
    lt_h5r_close(r);
    free(req);
    free(hdr);
    free(in);
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("h5raw_module_record");
    TCase *tc = tcase_create("module");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, full_module_record);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
