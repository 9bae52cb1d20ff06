/* lartrig's own ZeroMQ messages: one fixed-layout little-endian binary format, versioned, with a
 * common 40-byte header and four message types (docs/formats.md has the byte tables).
 *
 *   CANDIDATES    cell -> aggregator   a batch of trigger candidates + the cell's watermark
 *   HEARTBEAT     cell -> aggregator   the watermark alone ("processed up to tick T")
 *   DATA_REQUEST  aggregator -> cell   send me the data of [window_begin, window_end]
 *   DATA_REPLY    cell -> writer       the fragments (FragmentHeader v5 + payload) answering it
 *
 * Encoders write into a caller buffer and never allocate. The decoder validates everything a
 * receiver relies on (exact lengths, magic, version, type, counts, cell ids, time and channel
 * order, embedded FragmentHeaders) and returns a view that points into the received buffer, so
 * nothing is copied; the buffer must outlive the view. */
#ifndef LARTRIG_MSG_H
#define LARTRIG_MSG_H

#include "candidate.h"
#include "chmap.h" /* LT_MAX_CELLS */
#include "daqfmt.h"

#include <stddef.h>
#include <stdint.h>

#define LT_MSG_MAGIC   0x4752544CU /* the bytes "LTRG" read as a little-endian uint32 */
#define LT_MSG_VERSION 1U

#define LT_MSG_HEADER_SIZE        40U
#define LT_MSG_CANDIDATE_SIZE     48U /* one struct lt_candidate on the wire */
#define LT_MSG_REQUEST_SIZE       48U /* DATA_REQUEST payload */
#define LT_MSG_REPLY_FIXED_SIZE   24U /* DATA_REPLY payload before the fragments */
#define LT_MSG_MAX_CANDIDATES     512U
#define LT_MSG_MAX_FRAGMENTS      256U /* per reply: 40 streams per cell plus room to spare */
#define LT_MSG_MAX_SIZE           (64U << 20) /* whole message, bytes; a 2.25 ms cell is ~20 MB */
#define LT_MSG_MAX_CANDIDATE_WIRE 959U /* channel_end bound: 20 FEMBs x 48 collection wires - 1 */
/* A cell says hello (a HEARTBEAT naming it, on its request socket) this often: the module routes
 * the cell's data requests to the connection of its hellos (docs/security.md). */
#define LT_MSG_HELLO_INTERVAL_MS 500U

enum lt_msg_type {
    LT_MSG_CANDIDATES = 1,
    LT_MSG_HEARTBEAT = 2,
    LT_MSG_DATA_REQUEST = 3,
    LT_MSG_DATA_REPLY = 4,
};

/* The common header, decoded. */
struct lt_msg_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;        /* enum lt_msg_type */
    uint32_t cell;        /* sender (cell messages) or addressed cell (DATA_REQUEST) */
    uint32_t count;       /* candidates (CANDIDATES) or fragments (DATA_REPLY); else 0 */
    uint64_t sequence;    /* per sender and type, +1 per message: gaps show lost messages */
    uint64_t watermark;   /* ticks: the sender has processed all data before this time */
    uint32_t payload_len; /* bytes after the header */
    uint32_t flags;       /* reserved, must be 0 */
};

struct lt_msg_data_request {
    uint64_t trigger_number;
    uint64_t trigger_timestamp; /* ticks */
    uint64_t window_begin;      /* ticks, inclusive */
    uint64_t window_end;        /* ticks, inclusive; >= window_begin */
    uint64_t request_id;        /* chosen by the requester, echoed in the reply */
    uint32_t run_number;
    uint32_t cell; /* addressed cell; equals the header's cell */
};

struct lt_msg_reply_info {
    uint64_t request_id;
    uint64_t trigger_number;
    uint32_t cell;       /* replying cell; equals the header's cell */
    uint32_t error_bits; /* FragmentErrorBits summary (OR over the fragments) */
};

/* A validated message. Pointers refer into the decoded buffer. */
struct lt_msg_view {
    struct lt_msg_header hdr;
    const uint8_t *payload;             /* hdr.payload_len bytes */
    struct lt_msg_data_request request; /* DATA_REQUEST only */
    struct lt_msg_reply_info reply;     /* DATA_REPLY only */
    const uint8_t *fragments;           /* DATA_REPLY: first FragmentHeader */
    size_t fragments_len;               /* DATA_REPLY: bytes of all fragments */
};

/* ---- encoders: 0 or LT_ESHORT (cap too small), LT_ERANGE (bad field); *len = bytes ---- */

int lt_msg_encode_heartbeat(uint8_t *buf, size_t cap, uint32_t cell, uint64_t sequence,
                            uint64_t watermark, size_t *len);
int lt_msg_encode_candidates(uint8_t *buf, size_t cap, uint32_t cell, uint64_t sequence,
                             uint64_t watermark, const struct lt_candidate *cands, uint32_t n,
                             size_t *len);
int lt_msg_encode_data_request(uint8_t *buf, size_t cap, uint64_t sequence,
                               const struct lt_msg_data_request *req, size_t *len);
/* Bytes a CANDIDATES message of n candidates takes. */
static inline size_t lt_msg_candidates_size(uint32_t n)
{
    return LT_MSG_HEADER_SIZE + (size_t)n * LT_MSG_CANDIDATE_SIZE;
}

/* DATA_REPLY is built in place: begin, add fragments (copying a payload, or reserving room the
 * caller fills, e.g. straight from the ring buffer), finish. Any error sticks: later calls
 * return it and finish fails, so a caller can check once at the end. */
struct lt_msg_reply_builder {
    uint8_t *buf;
    size_t cap;
    size_t used;
    uint32_t n_fragments;
    int error;
};
int lt_msg_reply_begin(struct lt_msg_reply_builder *b, uint8_t *buf, size_t cap, uint64_t sequence,
                       uint64_t watermark, const struct lt_msg_reply_info *info);
/* h->size is set here to 72 + payload_len; marker and version are filled in by the encoder. */
int lt_msg_reply_add_fragment(struct lt_msg_reply_builder *b, const struct lt_fragment_header *h,
                              const void *payload, size_t payload_len);
int lt_msg_reply_reserve_fragment(struct lt_msg_reply_builder *b,
                                  const struct lt_fragment_header *h, size_t payload_len,
                                  uint8_t **payload_out);
int lt_msg_reply_finish(struct lt_msg_reply_builder *b, size_t *len);
/* Where fragment i's payload starts in a DATA_REPLY whose fragments all carry payload_len bytes
 * (one per stream of a cell). A sender may copy each payload into place first and then write
 * the headers in order with lt_msg_reply_reserve_fragment, which returns exactly this position
 * and leaves the payload bytes alone: the data is copied once, from its source into the
 * message. */
static inline size_t lt_msg_reply_payload_offset(uint32_t i, size_t payload_len)
{
    return LT_MSG_HEADER_SIZE + LT_MSG_REPLY_FIXED_SIZE +
           (size_t)i * (LT_FRAGMENT_HEADER_SIZE + payload_len) + LT_FRAGMENT_HEADER_SIZE;
}

/* ---- decoder ---- */

/* Validates buf as one complete message. 0, or LT_ESHORT / LT_EMAGIC / LT_EVERSION / LT_ERANGE /
 * LT_EFORMAT with a message in err (may be NULL). On error *v is unspecified. */
int lt_msg_decode(const void *buf, size_t len, struct lt_msg_view *v, char *err, size_t errlen);

/* One candidate's 48-byte wire record (the CANDIDATES payload element), for code that stores
 * candidates elsewhere in the same layout. put never fails; check tests the invariants the
 * decoder enforces (time_start <= time_peak <= time_end, channel_start <= channel_end <=
 * LT_MSG_MAX_CANDIDATE_WIRE, cell < LT_MAX_CELLS): 0 or LT_ERANGE with a message. */
void lt_candidate_put(uint8_t *p, const struct lt_candidate *c);
void lt_candidate_get(const uint8_t *p, struct lt_candidate *c);
int lt_candidate_check(const struct lt_candidate *c, char *err, size_t errlen);

/* Candidate i (< hdr.count) of a decoded CANDIDATES message. */
void lt_msg_candidate(const struct lt_msg_view *v, uint32_t i, struct lt_candidate *out);

/* Walks the fragments of a decoded DATA_REPLY. next() returns 1 and fills h/payload/len, or 0
 * after the last fragment. */
struct lt_msg_frag_iter {
    const uint8_t *p;
    size_t left;
};
void lt_msg_frag_iter_init(const struct lt_msg_view *v, struct lt_msg_frag_iter *it);
int lt_msg_frag_next(struct lt_msg_frag_iter *it, struct lt_fragment_header *h,
                     const uint8_t **payload, size_t *payload_len);

const char *lt_msg_type_name(uint16_t type); /* "candidates", "heartbeat", ... or "unknown" */

#endif
