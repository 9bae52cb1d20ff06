/* Fuzz target: the run-file / trigger-record reader on arbitrary file contents. The input is
 * written to a file in /dev/shm (HDF5 opens paths) and read completely: attributes, records,
 * datasets, fragments, record headers and truth. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5raw.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        lt_log_set_level(LT_LOG_ERR);
        snprintf(path, sizeof path, "/dev/shm/lt_fuzz_h5_%d.h5", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct lt_h5r *r = NULL;
    char err[512];
    if (lt_h5r_open(&r, path, err, sizeof err) == 0) {
        for (size_t rec = 0; rec < lt_h5r_record_count(r) && rec < 8; rec++) {
            struct lt_h5_dataset_info *ds = NULL;
            size_t n = 0;
            if (lt_h5r_list_datasets(r, rec, &ds, &n, err, sizeof err) != 0) continue;
            for (size_t i = 0; i < n && i < 16; i++) {
                if (ds[i].kind != LT_H5_DS_FRAGMENT) continue;
                struct lt_fragment_header h;
                uint8_t *buf = NULL;
                size_t len;
                lt_h5r_read_fragment_alloc(r, rec, ds[i].name, &h, &buf, &len, 1 << 20, err,
                                           sizeof err);
                free(buf);
            }
            free(ds);
            if (lt_h5r_attrs(r)->record_type == LT_H5_TRIGGER_RECORD) {
                struct lt_trigger_record_header trh;
                struct lt_component_request req[64];
                size_t nreq;
                lt_h5r_read_trh(r, rec, &trh, req, 64, &nreq, err, sizeof err);
            } else {
                struct lt_timeslice_header tsh;
                lt_h5r_read_tsh(r, rec, &tsh, err, sizeof err);
            }
        }
        size_t nt = 0;
        if (lt_h5r_truth_count(r, &nt, err, sizeof err) == 0 && nt > 0) {
            struct lt_truth rows[16];
            lt_h5r_read_truth(r, 0, rows, nt < 16 ? nt : 16, err, sizeof err);
        }
        lt_h5r_close(r);
    }
    unlink(path);
    return 0;
}
