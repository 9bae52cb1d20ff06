/* Simulation truth in a run file, stored where DUNE's readers never take it for a fragment.
 *
 * hdf5libs' get_all_fragment_dataset_paths() lists every dataset reachable from the root (it
 * recurses through all groups) that is not a record header, and get_dataset_raw_data() then
 * fails on anything that is not a fragment. So the truth is no dataset at all: it is the
 * group /Truth holding attributes only. Rows go in blocks of at most LT_H5_TRUTH_BLOCK_ROWS,
 * each block one 1-D compound attribute "block_NNNNNN" (the lt_truth members, packed
 * little-endian), so the writer holds one block in memory, never the whole table, and the file
 * can hold any number of rows. "n_rows" and "rows_per_block" (u64) say how many there are;
 * "kind_names" and "time_unit" describe them. Blocks above 64 KiB need HDF5's dense attribute
 * storage (file format 1.8 or later), which lt_h5w_open selects.
 *
 * Files written before this layout hold /Truth as a chunked 1-D compound dataset; the reader
 * still accepts that. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "h5raw_internal.h"
#include "lt_error.h"
#include "truth.h"

static void block_name(uint64_t i, char *buf, size_t len)
{
    snprintf(buf, len, "block_%06" PRIu64, i);
}

/* ---- writer ---- */

static int write_block(struct lt_h5_truth_writer *tw, char *what, size_t len)
{
    if (tw->n_buf == 0) return 0;
    char name[32];
    block_name(tw->blocks, name, sizeof name);
    hsize_t dims[1] = {tw->n_buf};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t attr =
        space < 0 ? -1 : H5Acreate2(tw->group, name, tw->ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = attr >= 0 && H5Awrite(attr, tw->mtype, tw->buf) >= 0 ? 0 : LT_EIO;
    if (attr >= 0 && H5Aclose(attr) < 0) rc = LT_EIO;
    if (space >= 0) H5Sclose(space);
    if (rc < 0) {
        snprintf(what, len, "cannot write attribute %s (%zu rows)", name, tw->n_buf);
        return rc;
    }
    tw->blocks++;
    tw->n_buf = 0;
    return 0;
}

static int start(hid_t file, struct lt_h5_truth_writer *tw, char *what, size_t len)
{
    tw->buf = malloc(LT_H5_TRUTH_BLOCK_ROWS * sizeof *tw->buf);
    tw->group = H5Gcreate2(file, LT_H5_TRUTH_GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    tw->mtype = lt_h5_truth_mem_type();
    tw->ftype = lt_h5_truth_file_type();
    char names[256];
    int n = 0;
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT && n >= 0 && (size_t)n < sizeof names; k++)
        n += snprintf(names + n, sizeof names - (size_t)n, "%s%u=%s", k ? "," : "", k,
                      lt_truth_kind_name(k));
    if (!tw->buf) {
        snprintf(what, len, "out of memory for a block of rows");
        return LT_ENOMEM;
    }
    /* Let h5py users read the kind numbers without our header. */
    if (tw->group < 0 || tw->mtype < 0 || tw->ftype < 0 ||
        lt_h5_attr_write_str(tw->group, "kind_names", names) < 0 ||
        lt_h5_attr_write_str(tw->group, "time_unit", "62.5 MHz DAQ clock ticks") < 0 ||
        lt_h5_attr_write_uint(tw->group, "rows_per_block", LT_H5_TRUTH_BLOCK_ROWS, 8) < 0) {
        snprintf(what, len, "cannot create the group and its attributes");
        return LT_EIO;
    }
    tw->started = 1;
    return 0;
}

int lt_h5_truth_append(hid_t file, struct lt_h5_truth_writer *tw, const struct lt_truth *rows,
                       size_t n, char *what, size_t len)
{
    int rc = 0;
    if (n && !tw->started && (rc = start(file, tw, what, len)) < 0) return rc;
    while (n) {
        size_t take = LT_H5_TRUTH_BLOCK_ROWS - tw->n_buf;
        if (take > n) take = n;
        memcpy(tw->buf + tw->n_buf, rows, take * sizeof *rows);
        tw->n_buf += take;
        tw->rows += take;
        rows += take;
        n -= take;
        if (tw->n_buf == LT_H5_TRUTH_BLOCK_ROWS && (rc = write_block(tw, what, len)) < 0) return rc;
    }
    return 0;
}

int lt_h5_truth_finish(struct lt_h5_truth_writer *tw, char *what, size_t len)
{
    if (!tw->started) return 0;
    int rc = write_block(tw, what, len);
    if (rc == 0 && lt_h5_attr_write_uint(tw->group, "n_rows", tw->rows, 8) < 0) {
        snprintf(what, len, "cannot write attribute n_rows");
        rc = LT_EIO;
    }
    return rc;
}

void lt_h5_truth_writer_close(struct lt_h5_truth_writer *tw)
{
    if (tw->started) {
        if (tw->group >= 0) H5Gclose(tw->group);
        if (tw->mtype >= 0) H5Tclose(tw->mtype);
        if (tw->ftype >= 0) H5Tclose(tw->ftype);
    }
    free(tw->buf);
    memset(tw, 0, sizeof *tw);
}

/* ---- reader ---- */

static const char *const members[] = {"time", "cell",       "channel_start", "channel_end",
                                      "kind", "energy_mev", "time_end"};

/* The type must be a compound with every member we read. */
static int check_type(hid_t type, char *what, size_t len)
{
    if (type < 0 || H5Tget_class(type) != H5T_COMPOUND) {
        snprintf(what, len, "not a compound table");
        return LT_EFORMAT;
    }
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        if (H5Tget_member_index(type, members[i]) < 0) {
            snprintf(what, len, "member \"%s\" missing", members[i]);
            return LT_EFORMAT;
        }
    return 0;
}

/* Legacy layout: /Truth is a 1-D compound dataset whose stored bytes must cover its extent. */
static int open_dataset(hid_t file, uint64_t file_size, struct lt_h5_truth_reader *tr, char *what,
                        size_t len)
{
    tr->dataset = H5Dopen2(file, LT_H5_TRUTH_GROUP, H5P_DEFAULT);
    if (tr->dataset < 0) {
        snprintf(what, len, "cannot open dataset");
        return LT_EFORMAT;
    }
    hid_t type = H5Dget_type(tr->dataset), space = H5Dget_space(tr->dataset);
    hsize_t rows = 0;
    int rc = check_type(type, what, len);
    if (rc == 0 && (space < 0 || H5Sget_simple_extent_ndims(space) != 1 ||
                    H5Sget_simple_extent_dims(space, &rows, NULL) < 0)) {
        snprintf(what, len, "not a 1-D compound table");
        rc = LT_EFORMAT;
    }
    /* The writer never left holes: a damaged extent cannot make us read rows not stored. */
    if (rc == 0 && rows > 0) {
        size_t row = H5Tget_size(type);
        hsize_t stored = H5Dget_storage_size(tr->dataset);
        if (rows > LT_H5_MAX_TRUTH_ROWS || row == 0 || stored / row < rows || stored > file_size) {
            snprintf(what, len, "table claims %llu rows but stores %llu bytes of %zu-byte rows",
                     (unsigned long long)rows, (unsigned long long)stored, row);
            rc = LT_EFORMAT;
        }
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    tr->rows = rows;
    return rc;
}

static int open_group(hid_t file, struct lt_h5_truth_reader *tr, char *what, size_t len)
{
    tr->group = H5Gopen2(file, LT_H5_TRUTH_GROUP, H5P_DEFAULT);
    if (tr->group < 0) {
        snprintf(what, len, "cannot open group");
        return LT_EFORMAT;
    }
    uint64_t rows, per;
    int a = lt_h5_attr_read_uint(tr->group, "n_rows", &rows);
    int b = lt_h5_attr_read_uint(tr->group, "rows_per_block", &per);
    if (a == LT_ENOTFOUND) {
        snprintf(what, len, "attribute n_rows missing (the writer did not finish)");
        return LT_EFORMAT;
    }
    if (a < 0 || b < 0 || per == 0 || per > LT_H5_TRUTH_MAX_BLOCK_ROWS ||
        rows > LT_H5_MAX_TRUTH_ROWS) {
        snprintf(what, len, "attributes n_rows / rows_per_block missing or out of range");
        return LT_EFORMAT;
    }
    tr->rows = rows;
    tr->per_block = per;
    return 0;
}

int lt_h5_truth_open(hid_t file, uint64_t file_size, struct lt_h5_truth_reader *tr, char *what,
                     size_t len)
{
    memset(tr, 0, sizeof *tr);
    tr->group = tr->dataset = -1;
    htri_t ex = H5Lexists(file, LT_H5_TRUTH_GROUP, H5P_DEFAULT);
    if (ex < 0) {
        snprintf(what, len, "cannot look it up");
        return LT_EIO;
    }
    if (ex == 0) return 1;
    hid_t obj = H5Oopen(file, LT_H5_TRUTH_GROUP, H5P_DEFAULT);
    H5I_type_t kind = obj >= 0 ? H5Iget_type(obj) : H5I_BADID;
    if (obj >= 0) H5Oclose(obj);
    int rc;
    if (kind == H5I_GROUP)
        rc = open_group(file, tr, what, len);
    else if (kind == H5I_DATASET)
        rc = open_dataset(file, file_size, tr, what, len);
    else {
        snprintf(what, len, "neither group nor dataset");
        rc = LT_EFORMAT;
    }
    (void)H5Eclear2(H5E_DEFAULT);
    if (rc < 0) lt_h5_truth_close(tr);
    return rc;
}

static int read_dataset_rows(struct lt_h5_truth_reader *tr, uint64_t first, struct lt_truth *rows,
                             size_t count, hid_t mtype, char *what, size_t len)
{
    hsize_t off[1] = {first}, cnt[1] = {count};
    hid_t fspace = H5Dget_space(tr->dataset), mspace = H5Screate_simple(1, cnt, NULL);
    int rc = 0;
    /* HDF5 converts compound members by name: another member order or width still reads. */
    if (fspace < 0 || mspace < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
        H5Dread(tr->dataset, mtype, mspace, fspace, H5P_DEFAULT, rows) < 0) {
        snprintf(what, len, "cannot read rows %" PRIu64 "..%" PRIu64, first, first + count);
        rc = LT_EIO;
    }
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    return rc;
}

/* Block i whole into tr's block buffer, after checking it holds exactly the rows it must. */
static int load_block(struct lt_h5_truth_reader *tr, uint64_t i, hid_t mtype, char *what,
                      size_t len)
{
    if (tr->cached == i + 1) return 0;
    char name[32];
    block_name(i, name, sizeof name);
    uint64_t want = tr->rows - i * tr->per_block;
    if (want > tr->per_block) want = tr->per_block;
    if (!tr->block && !(tr->block = malloc(tr->per_block * sizeof *tr->block))) {
        snprintf(what, len, "out of memory for a block of rows");
        return LT_ENOMEM;
    }
    hid_t attr = H5Aexists(tr->group, name) > 0 ? H5Aopen(tr->group, name, H5P_DEFAULT) : -1;
    if (attr < 0) {
        (void)H5Eclear2(H5E_DEFAULT);
        snprintf(what, len, "attribute %s missing (n_rows says %" PRIu64 ")", name, tr->rows);
        return LT_EFORMAT;
    }
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    int rc = check_type(type, what, len);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (rc == 0 &&
        (space < 0 || H5Sget_simple_extent_ndims(space) != 1 || n < 0 || (uint64_t)n != want)) {
        snprintf(what, len, "attribute %s holds %lld rows, expected %" PRIu64, name, (long long)n,
                 want);
        rc = LT_EFORMAT;
    }
    if (rc == 0 && H5Aread(attr, mtype, tr->block) < 0) {
        snprintf(what, len, "cannot read attribute %s", name);
        rc = LT_EIO;
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
    tr->cached = rc == 0 ? i + 1 : 0;
    return rc;
}

int lt_h5_truth_read(struct lt_h5_truth_reader *tr, uint64_t first, struct lt_truth *rows,
                     size_t count, char *what, size_t len)
{
    if (first > tr->rows || count > tr->rows - first) {
        snprintf(what, len, "rows %" PRIu64 "..%" PRIu64 " requested, table has %" PRIu64, first,
                 first + count, tr->rows);
        return LT_ERANGE;
    }
    if (count == 0) return 0;
    hid_t mtype = lt_h5_truth_mem_type();
    if (mtype < 0) {
        snprintf(what, len, "cannot build the memory type");
        return LT_EIO;
    }
    int rc = 0;
    if (tr->dataset >= 0) rc = read_dataset_rows(tr, first, rows, count, mtype, what, len);
    while (tr->dataset < 0 && rc == 0 && count) {
        uint64_t b = first / tr->per_block, in = first % tr->per_block;
        uint64_t take = tr->per_block - in;
        if (take > count) take = count;
        if ((rc = load_block(tr, b, mtype, what, len)) < 0) break;
        memcpy(rows, tr->block + in, (size_t)take * sizeof *rows);
        rows += take;
        first += take;
        count -= (size_t)take;
    }
    H5Tclose(mtype);
    return rc;
}

void lt_h5_truth_close(struct lt_h5_truth_reader *tr)
{
    if (tr->group >= 0) H5Gclose(tr->group);
    if (tr->dataset >= 0) H5Dclose(tr->dataset);
    free(tr->block);
    tr->group = tr->dataset = -1;
    tr->block = NULL;
    tr->cached = 0;
}
