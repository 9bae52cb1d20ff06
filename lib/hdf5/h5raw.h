/* HDF5 raw-data files in DUNE-DAQ's hdf5libs layout (file layout version 5): run files of
 * TimeSlice records and trigger-record files of TriggerRecord records. One writer and one reader
 * serve both kinds; docs/hdf5-layout.md has the exact groups, datasets and attributes.
 *
 *   /<Prefix><NNNNNN>[.<SSSS>]/RawData/<SourceID>_<TriggerRecordHeader|TimeSliceHeader>
 *   /<Prefix><NNNNNN>[.<SSSS>]/RawData/<SourceID>_<FragmentType>    e.g.
 * Detector_Readout_0x00000003_WIBEth
 *   /Truth    our simulation truth: a group holding only attributes (h5raw_truth.c)
 *
 * Every dataset holds raw bytes (8-bit integers, shape {size, 1}, contiguous), exactly as
 * hdf5libs writes them, so DUNE's HDF5RawDataFile and plain h5py read our files.
 *
 * Errors: every function returns 0 or a negative enum lt_error and, when err is not NULL, a
 * message "<file>: <object>: what is wrong". HDF5's own error-stack printing is switched off
 * (H5Eset_auto) the first time any function here runs; every HDF5 return value is checked.
 *
 * Threads: Debian's libhdf5 is built thread-safe, which means one global lock: calls from
 * different threads serialize. A writer or reader handle belongs to one thread at a time; keep
 * HDF5 calls off real-time threads (DESIGN.md). */
#ifndef LARTRIG_H5RAW_H
#define LARTRIG_H5RAW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daqfmt.h"
#include "truth.h"

enum lt_h5_record_type {
    LT_H5_TRIGGER_RECORD = 0, /* record_type "TriggerRecord", groups TriggerRecordNNNNNN.SSSS */
    LT_H5_TIMESLICE = 1,      /* record_type "TimeSlice",     groups TimeSliceNNNNNN */
};

#define LT_H5_FILELAYOUT_VERSION 5U
#define LT_H5_RAW_DATA_GROUP     "RawData"
#define LT_H5_TRUTH_GROUP        "Truth" /* a group of attributes, no dataset: h5raw_truth.c */
#define LT_H5_WRITING_SUFFIX     ".writing"
/* Largest dataset the reader allocates or copies without the caller asking for more: a full
 * 2.25 ms x 40-stream cell fragment is ~20 MB; a 10 ms run-file slice per stream ~2.2 MB. */
#define LT_H5_MAX_DATASET_BYTES (1ULL << 30)
#define LT_H5_MAX_TRUTH_ROWS    (1ULL << 32) /* /Truth rows the reader accepts */
#define LT_H5_NAME_MAX          128          /* longest group/dataset name we produce or accept */
#define LT_H5_STR_MAX           4096 /* longest string attribute we read (filelayout_params fits) */
#define LT_H5_GEOMAP_MAX        (64U << 20) /* longest source_id_geo_id_map we parse */

/* ---- naming (h5names.c): pure functions, no HDF5 calls; the io_uring writer reuses them ---- */

/* "TriggerRecord" / "TimeSlice" and the record header dataset suffix
 * "TriggerRecordHeader" / "TimeSliceHeader". NULL for an unknown type. */
const char *lt_h5_record_prefix(enum lt_h5_record_type type);
const char *lt_h5_record_header_name(enum lt_h5_record_type type);

/* hdf5libs names: SourceID::subsystem_to_string ("Detector_Readout", "HW_Signals_Interface",
 * "Trigger", "TR_Builder", "Unknown") and fragment_type_to_string ("WIBEth",
 * "Trigger_Candidate", ..., "Unknown"). Never NULL. */
const char *lt_h5_subsystem_name(uint16_t subsystem);
const char *lt_h5_fragment_type_name(uint32_t fragment_type);
/* Reverse lookups: return 0 and fill *out, or LT_ENOTFOUND. */
int lt_h5_subsystem_from_name(const char *name, size_t len, uint16_t *out);
int lt_h5_fragment_type_from_name(const char *name, uint32_t *out);

/* The name builders return the length written, or LT_ESHORT when buf is too small. */
/* "TriggerRecord000042.0000" (6-digit number, natural width beyond; 4-digit sequence) or
 * "TimeSlice000042" (TimeSlice records carry no sequence number). */
int lt_h5_record_name(enum lt_h5_record_type type, uint64_t number, uint16_t sequence, char *buf,
                      size_t len);
/* "Detector_Readout_0x0000002a" (SourceID::to_string). */
int lt_h5_source_id_name(const struct lt_source_id *sid, char *buf, size_t len);
/* "<SourceID>_<FragmentType>", the dataset name of a fragment. */
int lt_h5_fragment_dataset_name(const struct lt_source_id *sid, uint32_t fragment_type, char *buf,
                                size_t len);
/* "<SourceID>_TriggerRecordHeader" / "<SourceID>_TimeSliceHeader". */
int lt_h5_header_dataset_name(enum lt_h5_record_type type, const struct lt_source_id *sid,
                              char *buf, size_t len);
/* Full path "/<record>/RawData/<dataset>" as stored in the source_id_path_map attribute. */
int lt_h5_dataset_path(const char *record_name, const char *dataset_name, char *buf, size_t len);

/* Parse a top-level group name of the given type: "TriggerRecord000042.0001" -> 42, 1.
 * Returns 0, or LT_EFORMAT when the name is not a record of this type. */
int lt_h5_parse_record_name(enum lt_h5_record_type type, const char *name, uint64_t *number,
                            uint16_t *sequence);
/* Parse a RawData dataset name "<Subsystem>_0x%08x_<Suffix>" into its SourceID and suffix
 * (a fragment type name or the record header name). Returns 0 or LT_EFORMAT. */
int lt_h5_parse_dataset_name(const char *name, struct lt_source_id *sid, const char **suffix);

/* DUNE file name (dfmodules HDF5DataStore):
 *   <env>_raw_run<NNNNNN>_<NNNN>_<writer>_<YYYYMMDDTHHMMSS>.hdf5   (UTC time)
 * e.g. "np04hd_raw_run012345_0003_dataflow0_20260101T120000.hdf5". The file is written as
 * "<name>.writing" and renamed when complete (lt_h5w_open with writing_suffix). */
int lt_h5_file_name(const char *operational_environment, uint32_t run_number, uint32_t file_index,
                    const char *writer_name, time_t when, char *buf, size_t len);

/* filelayout_params attribute text (the JSON of HDF5FileLayoutParameters) for a record type;
 * returns the length written or LT_ESHORT. */
int lt_h5_filelayout_params_json(enum lt_h5_record_type type, char *buf, size_t len);

/* GeoID packing of hdf5libs' source_id_geo_id_map: stream<<48 | slot<<32 | crate<<16 | det_id. */
static inline uint64_t lt_h5_geoid_encode(uint16_t det_id, uint16_t crate, uint16_t slot,
                                          uint16_t stream)
{
    return ((uint64_t)stream << 48) | ((uint64_t)slot << 32) | ((uint64_t)crate << 16) | det_id;
}

/* ---- file attributes (both directions) ---- */

struct lt_h5_geoid_entry {
    struct lt_source_id source_id;
    uint64_t geoid; /* lt_h5_geoid_encode() */
};

/* The source_id_geo_id_map entries of one cell's streams 0..n_streams-1 as lartrig writes them:
 * SourceID Detector_Readout (cell << 8 | stream), GeoID kHD_TPC / crate = cell / slot, stream
 * as in the frames' DAQEthHeader (lt_chmap_stream_address). Fills out[0..n_streams-1]. */
void lt_h5_cell_geoids(uint32_t cell, uint32_t n_streams, struct lt_h5_geoid_entry *out);

struct lt_h5_file_attrs {
    enum lt_h5_record_type record_type;
    uint32_t run_number;
    uint64_t file_index;
    char application_name[64];        /* e.g. "lartrig-sim", "trigd" */
    char operational_environment[64]; /* e.g. "lartrig" (also the file-name prefix) */
    char offline_data_stream[64];     /* e.g. "physics", "cosmics", "sim" */
    int run_was_for_test_purposes;    /* written as the string "true"/"false" */
    /* SourceID -> GeoID entries of the source_id_geo_id_map attribute: the writer's input, and
     * the reader's output (owned by the reader; empty when the file has no map). */
    const struct lt_h5_geoid_entry *geoids;
    size_t n_geoids;
    /* Reader output only (0 / empty when the attribute is absent, e.g. a file not closed). */
    uint32_t filelayout_version;
    uint64_t creation_timestamp; /* ms since the Unix epoch */
    uint64_t closing_timestamp;  /* ms since the Unix epoch, 0 if the file was never closed */
    uint64_t recorded_size;      /* bytes of record headers + fragments, 0 if never closed */
    int has_recorded_size;       /* 1 when recorded_size/closing_timestamp were present */
};

/* ---- writer (h5raw_write.c) ---- */

struct lt_h5w;

struct lt_h5w_options {
    int writing_suffix; /* 1: create "<path>.writing", fsync and rename to <path> at close */
    int truncate;       /* 1: replace an existing file (default refuses to overwrite) */
};

/* Create the file and write the file attributes (run_number, file_index, creation_timestamp,
 * application_name, filelayout_params, filelayout_version, source_id_geo_id_map, record_type,
 * operational_environment, offline_data_stream, run_was_for_test_purposes). opts may be NULL. */
int lt_h5w_open(struct lt_h5w **out, const char *path, const struct lt_h5_file_attrs *attrs,
                const struct lt_h5w_options *opts, char *err, size_t errlen);

/* Write recorded_size and closing_timestamp, flush, close; with writing_suffix also fsync the
 * file, rename it to its final name and fsync the directory. Frees w in every case; on error the
 * file keeps its .writing name so nobody mistakes it for a complete one. */
int lt_h5w_close(struct lt_h5w *w, char *err, size_t errlen);

/* Abandon: close and free without the closing attributes or the rename (error paths). */
void lt_h5w_abort(struct lt_h5w *w);

const char *lt_h5w_path(const struct lt_h5w *w); /* the name being written (maybe .writing) */
uint64_t lt_h5w_recorded_size(const struct lt_h5w *w);
uint64_t lt_h5w_record_count(const struct lt_h5w *w);

/* Records are written in three steps so a record of many fragments never needs all of them in
 * memory at once:
 *   lt_h5w_begin_timeslice / lt_h5w_begin_trigger_record   (creates the group and header)
 *   lt_h5w_add_fragment  x N
 *   lt_h5w_end_record    (record-level SourceID attributes, flush)
 * Only one record is open at a time. A fragment's trigger_number and sequence_number must name
 * the open record (hdf5libs derives the path from them). */
int lt_h5w_begin_timeslice(struct lt_h5w *w, const struct lt_timeslice_header *tsh, char *err,
                           size_t errlen);
int lt_h5w_begin_trigger_record(struct lt_h5w *w, const struct lt_trigger_record_header *trh,
                                const struct lt_component_request *requests, size_t n_requests,
                                char *err, size_t errlen);
/* One fragment dataset = the encoded 72-byte FragmentHeader followed by the payload, written
 * without an extra copy of the payload (two hyperslab writes into one dataset). hdr->size is
 * set by the writer to 72 + payload_len; marker and version by the encoder. */
int lt_h5w_add_fragment(struct lt_h5w *w, const struct lt_fragment_header *hdr, const void *payload,
                        size_t payload_len, char *err, size_t errlen);
int lt_h5w_end_record(struct lt_h5w *w, char *err, size_t errlen);

/* Convenience: a whole record from arrays. */
struct lt_h5_fragment_in {
    const struct lt_fragment_header *hdr;
    const void *payload;
    size_t payload_len;
};
int lt_h5w_write_timeslice(struct lt_h5w *w, const struct lt_timeslice_header *tsh,
                           const struct lt_h5_fragment_in *frags, size_t n_frags, char *err,
                           size_t errlen);
int lt_h5w_write_trigger_record(struct lt_h5w *w, const struct lt_trigger_record_header *trh,
                                const struct lt_component_request *requests, size_t n_requests,
                                const struct lt_h5_fragment_in *frags, size_t n_frags, char *err,
                                size_t errlen);

/* Append rows to the simulation truth (/Truth, created on first call). It is ours, not hdf5libs':
 * it is kept in attributes of the group /Truth, never in a dataset, because hdf5libs takes every
 * dataset of the file for a fragment. Rows are written in blocks; the last one and the row count
 * at lt_h5w_close. May be called any number of times. */
int lt_h5w_append_truth(struct lt_h5w *w, const struct lt_truth *rows, size_t n, char *err,
                        size_t errlen);

/* ---- reader (h5raw_read.c) ---- */

struct lt_h5r;

struct lt_h5_record_id {
    uint64_t number;   /* trigger number or timeslice number */
    uint16_t sequence; /* sequence number (0 for TimeSlice) */
    char name[LT_H5_NAME_MAX];
};

enum lt_h5_dataset_kind {
    LT_H5_DS_RECORD_HEADER = 0, /* <SourceID>_TriggerRecordHeader / _TimeSliceHeader */
    LT_H5_DS_FRAGMENT = 1,      /* <SourceID>_<FragmentType> */
};

struct lt_h5_dataset_info {
    char name[LT_H5_NAME_MAX];
    enum lt_h5_dataset_kind kind;
    struct lt_source_id source_id; /* parsed from the name */
    uint32_t fragment_type;        /* parsed from the name (fragments only) */
    uint64_t size;                 /* bytes */
    /* lt_h5r_list_wibeth only: the cell and stream of the fragment's frames
     * (lt_h5r_stream_origin), never derived from the SourceID number. */
    uint32_t cell, stream;
};

/* Open read-only and validate: an HDF5 file, record_type "TriggerRecord" or "TimeSlice",
 * filelayout_params JSON consistent with it, filelayout_version >= 3, run_number present. Lists
 * the records (sorted by number, then sequence). */
int lt_h5r_open(struct lt_h5r **out, const char *path, char *err, size_t errlen);
void lt_h5r_close(struct lt_h5r *r);

/* Walk all of an untrusted file's metadata (everything lt_h5r_* parses: attributes, records,
 * listings, record and fragment headers, /Truth) in a forked child, so that a crash or hang of
 * libhdf5 itself on damaged metadata becomes an error here ("the HDF5 library crashed ... the
 * file is corrupt") instead of killing the caller. Returns 0 when the file reads cleanly, else
 * the reader's own error; *unsafe (may be NULL) is set to 1 only when libhdf5 crashed or hung:
 * then the file must not be opened in-process at all. Any other error is safe to reproduce
 * in-process (same calls, same bytes). Call it before lt_h5r_open on files from outside
 * (inspect, replay, show); it forks, so call it before starting threads. timeout_s 0 = 60 s. */
int lt_h5r_probe(const char *path, unsigned timeout_s, int *unsafe, char *err, size_t errlen);

const char *lt_h5r_path(const struct lt_h5r *r);
const struct lt_h5_file_attrs *lt_h5r_attrs(const struct lt_h5r *r);
size_t lt_h5r_record_count(const struct lt_h5r *r);
const struct lt_h5_record_id *lt_h5r_record(const struct lt_h5r *r, size_t index);
/* Index of the record with this number and sequence, or LT_ENOTFOUND. */
int lt_h5r_find_record(const struct lt_h5r *r, uint64_t number, uint16_t sequence, size_t *index);

/* The datasets of a record's RawData group, header first, then fragments in name order.
 * *out is malloc'd (free() it); at most LT_H5_MAX_DATASETS_PER_RECORD entries. */
#define LT_H5_MAX_DATASETS_PER_RECORD 65536U
int lt_h5r_list_datasets(struct lt_h5r *r, size_t record, struct lt_h5_dataset_info **out,
                         size_t *n, char *err, size_t errlen);

/* The run data of a record: its Detector_Readout WIBEth fragments (one dataset per stream),
 * without the record header and any other fragment type; only those of `cell`, or of every cell
 * with LT_H5_ALL_CELLS. Each entry's cell and stream come from its frames and the GeoID map
 * (lt_h5r_stream_origin below), so files of DUNE's DAQ, whatever their SourceID numbers, select
 * the same; sorted by cell, then stream. A fragment with no frame and no map entry cannot be
 * placed and is left out (callers that need every stream notice the gap); any other origin error
 * fails the call. This is the one dataset selection every C reader of run data uses (file
 * source, replay, show, benchmarks); tools/train/data.py is the only other copy. *out as for
 * lt_h5r_list_datasets (may be empty: *n = 0). */
#define LT_H5_ALL_CELLS UINT32_MAX
int lt_h5r_list_wibeth(struct lt_h5r *r, size_t record, uint32_t cell,
                       struct lt_h5_dataset_info **out, size_t *n, char *err, size_t errlen);

/* Size of one RawData dataset in bytes (validated: 1-byte type, shape {n,1}, not past the end
 * of the file). */
int lt_h5r_dataset_size(struct lt_h5r *r, size_t record, const char *dataset, uint64_t *size,
                        char *err, size_t errlen);
/* Read a whole RawData dataset into buf (cap bytes); *len gets its size. LT_ESHORT when cap is
 * too small (nothing read). */
int lt_h5r_read_dataset(struct lt_h5r *r, size_t record, const char *dataset, void *buf, size_t cap,
                        size_t *len, char *err, size_t errlen);

/* Read bytes [offset, offset + len) of a RawData dataset (e.g. one frame of a big fragment);
 * LT_ERANGE when the range is not inside the dataset. */
int lt_h5r_read_range(struct lt_h5r *r, size_t record, const char *dataset, uint64_t offset,
                      void *buf, size_t len, char *err, size_t errlen);
/* Read and validate only a fragment's 72-byte FragmentHeader (same checks as read_fragment,
 * including size == dataset size) without reading the payload. */
int lt_h5r_read_fragment_header(struct lt_h5r *r, size_t record, const char *dataset,
                                struct lt_fragment_header *hdr, char *err, size_t errlen);

/* Read a fragment into buf (header + payload, cap bytes), decode and validate its
 * FragmentHeader: marker, version, size == dataset size, and that it belongs to this record.
 * *payload_len = size - 72; the payload starts at buf + LT_FRAGMENT_HEADER_SIZE. */
int lt_h5r_read_fragment(struct lt_h5r *r, size_t record, const char *dataset,
                         struct lt_fragment_header *hdr, void *buf, size_t cap, size_t *payload_len,
                         char *err, size_t errlen);
/* Same, allocating: *buf is malloc'd (free() it), refused above max_bytes
 * (0 = LT_H5_MAX_DATASET_BYTES). */
int lt_h5r_read_fragment_alloc(struct lt_h5r *r, size_t record, const char *dataset,
                               struct lt_fragment_header *hdr, uint8_t **buf, size_t *payload_len,
                               size_t max_bytes, char *err, size_t errlen);

/* The record header. For TriggerRecord files: the 64-byte TRH and up to cap ComponentRequests
 * (*n_requests gets the count in the file, which must equal num_requested_components; LT_ESHORT
 * when cap is smaller). For TimeSlice files: the TimeSliceHeader. Using the wrong one for the
 * file's record_type is LT_EINVAL. */
int lt_h5r_read_trh(struct lt_h5r *r, size_t record, struct lt_trigger_record_header *trh,
                    struct lt_component_request *requests, size_t cap, size_t *n_requests,
                    char *err, size_t errlen);
int lt_h5r_read_tsh(struct lt_h5r *r, size_t record, struct lt_timeslice_header *tsh, char *err,
                    size_t errlen);

/* Which cell and stream a readout fragment holds, found the way DUNE's tools find it, so files
 * written by DUNE's DAQ (any SourceID numbering) read: from the DAQEthHeader (det_id, crate,
 * slot, stream_id) of the fragment's first frame, checked against the file's SourceID -> GeoID
 * map; from the map alone when the fragment has no frame (kDataNotFound). cell = crate and
 * stream = slot * 8 + stream_id (lt_chmap_stream_from_address). The SourceID number itself is
 * never interpreted. Errors, each with a message naming the dataset: LT_EFORMAT when the frames
 * and the map disagree or the first frame is not a WIBEth frame, LT_ENOTFOUND for an empty
 * fragment without a map entry, LT_EUNSUPPORTED for an address outside lartrig's map of a cell
 * (e.g. DUNE's second WIB link, stream_id >= 64), LT_EIO on read failure. */
struct lt_h5_stream_origin {
    uint16_t det_id, crate;
    uint8_t slot, eth_stream; /* DAQEthHeader slot_id and stream_id */
    uint32_t cell, stream;    /* lartrig's numbering */
    int from_frames;          /* 1: read from the first frame; 0: from the geo map only */
};
int lt_h5r_stream_origin(struct lt_h5r *r, size_t record, const struct lt_h5_dataset_info *d,
                         struct lt_h5_stream_origin *o, char *err, size_t errlen);

/* /Truth: row count (0 without error when the file has no truth table) and rows
 * [first, first + count). */
int lt_h5r_truth_count(struct lt_h5r *r, size_t *n, char *err, size_t errlen);
int lt_h5r_read_truth(struct lt_h5r *r, size_t first, struct lt_truth *rows, size_t count,
                      char *err, size_t errlen);

#endif
