/* lartrig ZeroMQ messages: encoders into caller buffers and one validating decoder. Every
 * multi-byte field goes through lib/base/le.h, so the wire image is the same on any host. */
#include "msg.h"

#include "chmap.h"
#include "le.h"
#include "lt_error.h"

#include <stdio.h>
#include <string.h>

_Static_assert(LT_MSG_MAX_SIZE >=
                   LT_MSG_HEADER_SIZE + LT_MSG_MAX_CANDIDATES * LT_MSG_CANDIDATE_SIZE,
               "a full candidate batch fits in a message");

/* ---- header ---- */

static void header_put(uint8_t *p, uint16_t type, uint32_t cell, uint32_t count, uint64_t sequence,
                       uint64_t watermark, uint32_t payload_len)
{
    lt_put_le32(p + 0, LT_MSG_MAGIC);
    lt_put_le16(p + 4, LT_MSG_VERSION);
    lt_put_le16(p + 6, type);
    lt_put_le32(p + 8, cell);
    lt_put_le32(p + 12, count);
    lt_put_le64(p + 16, sequence);
    lt_put_le64(p + 24, watermark);
    lt_put_le32(p + 32, payload_len);
    lt_put_le32(p + 36, 0); /* flags */
}

static void header_get(const uint8_t *p, struct lt_msg_header *h)
{
    h->magic = lt_get_le32(p + 0);
    h->version = lt_get_le16(p + 4);
    h->type = lt_get_le16(p + 6);
    h->cell = lt_get_le32(p + 8);
    h->count = lt_get_le32(p + 12);
    h->sequence = lt_get_le64(p + 16);
    h->watermark = lt_get_le64(p + 24);
    h->payload_len = lt_get_le32(p + 32);
    h->flags = lt_get_le32(p + 36);
}

/* ---- candidates ---- */

void lt_candidate_put(uint8_t *p, const struct lt_candidate *c)
{
    lt_put_le64(p + 0, c->time_start);
    lt_put_le64(p + 8, c->time_end);
    lt_put_le64(p + 16, c->time_peak);
    lt_put_le32(p + 24, c->cell);
    lt_put_le16(p + 28, c->channel_start);
    lt_put_le16(p + 30, c->channel_end);
    lt_put_le32(p + 32, (uint32_t)c->peak_score);
    lt_put_le32(p + 36, c->adc_sum);
    lt_put_le32(p + 40, c->n_pixels);
    lt_put_le32(p + 44, c->algorithm);
}

void lt_candidate_get(const uint8_t *p, struct lt_candidate *c)
{
    c->time_start = lt_get_le64(p + 0);
    c->time_end = lt_get_le64(p + 8);
    c->time_peak = lt_get_le64(p + 16);
    c->cell = lt_get_le32(p + 24);
    c->channel_start = lt_get_le16(p + 28);
    c->channel_end = lt_get_le16(p + 30);
    c->peak_score = (int32_t)lt_get_le32(p + 32);
    c->adc_sum = lt_get_le32(p + 36);
    c->n_pixels = lt_get_le32(p + 40);
    c->algorithm = lt_get_le32(p + 44);
}

/* The invariants every consumer of a candidate relies on; `who` names it in the message. */
static int check_fields(const struct lt_candidate *c, const char *who, char *err, size_t errlen)
{
    if (c->cell >= LT_MAX_CELLS) {
        lt_seterr(err, errlen, "%s: cell %u out of range (max %u)", who, c->cell, LT_MAX_CELLS - 1);
        return LT_ERANGE;
    }
    if (!(c->time_start <= c->time_peak && c->time_peak <= c->time_end)) {
        lt_seterr(err, errlen, "%s: times out of order (start %llu, peak %llu, end %llu)", who,
                  (unsigned long long)c->time_start, (unsigned long long)c->time_peak,
                  (unsigned long long)c->time_end);
        return LT_ERANGE;
    }
    if (c->channel_start > c->channel_end || c->channel_end > LT_MSG_MAX_CANDIDATE_WIRE) {
        lt_seterr(err, errlen, "%s: channel range %u..%u invalid (max %u)", who, c->channel_start,
                  c->channel_end, LT_MSG_MAX_CANDIDATE_WIRE);
        return LT_ERANGE;
    }
    return 0;
}

int lt_candidate_check(const struct lt_candidate *c, char *err, size_t errlen)
{
    return check_fields(c, "candidate", err, errlen);
}

/* Inside a message a candidate must also come from the message's cell. */
static int candidate_check(const struct lt_candidate *c, uint32_t cell, uint32_t i, char *err,
                           size_t errlen)
{
    /* The name for a message is built only when there is an error to report: this runs for
     * every candidate the aggregator receives. */
    char who[32];
    if (c->cell != cell) {
        snprintf(who, sizeof who, "candidate %u", i);
        lt_seterr(err, errlen, "%s: cell %u in a message from cell %u", who, c->cell, cell);
        return LT_ERANGE;
    }
    if (check_fields(c, "", NULL, 0) == 0) return 0;
    snprintf(who, sizeof who, "candidate %u", i);
    return check_fields(c, who, err, errlen);
}

/* ---- encoders ---- */

int lt_msg_encode_heartbeat(uint8_t *buf, size_t cap, uint32_t cell, uint64_t sequence,
                            uint64_t watermark, size_t *len)
{
    if (cell >= LT_MAX_CELLS) return LT_ERANGE;
    if (cap < LT_MSG_HEADER_SIZE) return LT_ESHORT;
    header_put(buf, LT_MSG_HEARTBEAT, cell, 0, sequence, watermark, 0);
    *len = LT_MSG_HEADER_SIZE;
    return 0;
}

int lt_msg_encode_candidates(uint8_t *buf, size_t cap, uint32_t cell, uint64_t sequence,
                             uint64_t watermark, const struct lt_candidate *cands, uint32_t n,
                             size_t *len)
{
    if (cell >= LT_MAX_CELLS || n > LT_MSG_MAX_CANDIDATES) return LT_ERANGE;
    for (uint32_t i = 0; i < n; i++)
        if (candidate_check(&cands[i], cell, i, NULL, 0)) return LT_ERANGE;
    size_t need = lt_msg_candidates_size(n);
    if (cap < need) return LT_ESHORT;
    header_put(buf, LT_MSG_CANDIDATES, cell, n, sequence, watermark, n * LT_MSG_CANDIDATE_SIZE);
    for (uint32_t i = 0; i < n; i++)
        lt_candidate_put(buf + LT_MSG_HEADER_SIZE + (size_t)i * LT_MSG_CANDIDATE_SIZE, &cands[i]);
    *len = need;
    return 0;
}

int lt_msg_encode_data_request(uint8_t *buf, size_t cap, uint64_t sequence,
                               const struct lt_msg_data_request *r, size_t *len)
{
    if (r->cell >= LT_MAX_CELLS || r->window_begin > r->window_end) return LT_ERANGE;
    if (cap < LT_MSG_HEADER_SIZE + LT_MSG_REQUEST_SIZE) return LT_ESHORT;
    header_put(buf, LT_MSG_DATA_REQUEST, r->cell, 0, sequence, 0, LT_MSG_REQUEST_SIZE);
    uint8_t *p = buf + LT_MSG_HEADER_SIZE;
    lt_put_le64(p + 0, r->trigger_number);
    lt_put_le64(p + 8, r->trigger_timestamp);
    lt_put_le64(p + 16, r->window_begin);
    lt_put_le64(p + 24, r->window_end);
    lt_put_le64(p + 32, r->request_id);
    lt_put_le32(p + 40, r->run_number);
    lt_put_le32(p + 44, 0); /* reserved */
    *len = LT_MSG_HEADER_SIZE + LT_MSG_REQUEST_SIZE;
    return 0;
}

/* The reply header is written at begin and rewritten at finish with the final count/length. */
int lt_msg_reply_begin(struct lt_msg_reply_builder *b, uint8_t *buf, size_t cap, uint64_t sequence,
                       uint64_t watermark, const struct lt_msg_reply_info *info)
{
    memset(b, 0, sizeof *b);
    b->buf = buf;
    b->cap = cap < LT_MSG_MAX_SIZE ? cap : LT_MSG_MAX_SIZE;
    if (info->cell >= LT_MAX_CELLS) return b->error = LT_ERANGE;
    if (b->cap < LT_MSG_HEADER_SIZE + LT_MSG_REPLY_FIXED_SIZE) return b->error = LT_ESHORT;
    header_put(buf, LT_MSG_DATA_REPLY, info->cell, 0, sequence, watermark, 0);
    uint8_t *p = buf + LT_MSG_HEADER_SIZE;
    lt_put_le64(p + 0, info->request_id);
    lt_put_le64(p + 8, info->trigger_number);
    lt_put_le32(p + 16, info->error_bits);
    lt_put_le32(p + 20, 0); /* reserved */
    b->used = LT_MSG_HEADER_SIZE + LT_MSG_REPLY_FIXED_SIZE;
    return 0;
}

int lt_msg_reply_reserve_fragment(struct lt_msg_reply_builder *b,
                                  const struct lt_fragment_header *h, size_t payload_len,
                                  uint8_t **payload_out)
{
    if (b->error) return b->error;
    if (b->n_fragments >= LT_MSG_MAX_FRAGMENTS) return b->error = LT_ERANGE;
    if (b->cap - b->used < LT_FRAGMENT_HEADER_SIZE ||
        payload_len > b->cap - b->used - LT_FRAGMENT_HEADER_SIZE)
        return b->error = LT_ESHORT;
    struct lt_fragment_header fh = *h;
    fh.size = LT_FRAGMENT_HEADER_SIZE + payload_len;
    int rc = lt_fragment_header_encode(&fh, b->buf + b->used, b->cap - b->used);
    if (rc) return b->error = rc;
    *payload_out = b->buf + b->used + LT_FRAGMENT_HEADER_SIZE;
    b->used += LT_FRAGMENT_HEADER_SIZE + payload_len;
    b->n_fragments++;
    return 0;
}

int lt_msg_reply_add_fragment(struct lt_msg_reply_builder *b, const struct lt_fragment_header *h,
                              const void *payload, size_t payload_len)
{
    uint8_t *dst;
    int rc = lt_msg_reply_reserve_fragment(b, h, payload_len, &dst);
    if (rc) return rc;
    if (payload_len) memcpy(dst, payload, payload_len);
    return 0;
}

int lt_msg_reply_finish(struct lt_msg_reply_builder *b, size_t *len)
{
    if (b->error) return b->error;
    lt_put_le32(b->buf + 12, b->n_fragments);
    lt_put_le32(b->buf + 32, (uint32_t)(b->used - LT_MSG_HEADER_SIZE));
    *len = b->used;
    return 0;
}

/* ---- decoder ---- */

static int decode_candidates(struct lt_msg_view *v, char *err, size_t errlen)
{
    const struct lt_msg_header *h = &v->hdr;
    if (h->count > LT_MSG_MAX_CANDIDATES) {
        lt_seterr(err, errlen, "candidates message: count %u exceeds %u", h->count,
                  LT_MSG_MAX_CANDIDATES);
        return LT_ERANGE;
    }
    if ((uint64_t)h->count * LT_MSG_CANDIDATE_SIZE != h->payload_len) {
        lt_seterr(err, errlen, "candidates message: %u candidates need %u bytes, payload is %u",
                  h->count, h->count * LT_MSG_CANDIDATE_SIZE, h->payload_len);
        return LT_EFORMAT;
    }
    for (uint32_t i = 0; i < h->count; i++) {
        struct lt_candidate c;
        lt_candidate_get(v->payload + (size_t)i * LT_MSG_CANDIDATE_SIZE, &c);
        int rc = candidate_check(&c, h->cell, i, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

static int decode_request(struct lt_msg_view *v, char *err, size_t errlen)
{
    const struct lt_msg_header *h = &v->hdr;
    if (h->count != 0 || h->payload_len != LT_MSG_REQUEST_SIZE) {
        lt_seterr(err, errlen, "data request: count %u / payload %u bytes, expected 0 / %u",
                  h->count, h->payload_len, LT_MSG_REQUEST_SIZE);
        return LT_EFORMAT;
    }
    const uint8_t *p = v->payload;
    struct lt_msg_data_request *r = &v->request;
    r->trigger_number = lt_get_le64(p + 0);
    r->trigger_timestamp = lt_get_le64(p + 8);
    r->window_begin = lt_get_le64(p + 16);
    r->window_end = lt_get_le64(p + 24);
    r->request_id = lt_get_le64(p + 32);
    r->run_number = lt_get_le32(p + 40);
    r->cell = h->cell;
    if (lt_get_le32(p + 44) != 0) {
        lt_seterr(err, errlen, "data request: reserved word is not 0");
        return LT_EFORMAT;
    }
    if (r->window_begin > r->window_end) {
        lt_seterr(err, errlen, "data request: window_begin %llu > window_end %llu",
                  (unsigned long long)r->window_begin, (unsigned long long)r->window_end);
        return LT_ERANGE;
    }
    return 0;
}

static int decode_reply(struct lt_msg_view *v, char *err, size_t errlen)
{
    const struct lt_msg_header *h = &v->hdr;
    if (h->payload_len < LT_MSG_REPLY_FIXED_SIZE) {
        lt_seterr(err, errlen, "data reply: payload %u bytes, need at least %u", h->payload_len,
                  LT_MSG_REPLY_FIXED_SIZE);
        return LT_EFORMAT;
    }
    if (h->count > LT_MSG_MAX_FRAGMENTS) {
        lt_seterr(err, errlen, "data reply: %u fragments exceed %u", h->count,
                  LT_MSG_MAX_FRAGMENTS);
        return LT_ERANGE;
    }
    const uint8_t *p = v->payload;
    v->reply.request_id = lt_get_le64(p + 0);
    v->reply.trigger_number = lt_get_le64(p + 8);
    v->reply.error_bits = lt_get_le32(p + 16);
    v->reply.cell = h->cell;
    if (lt_get_le32(p + 20) != 0) {
        lt_seterr(err, errlen, "data reply: reserved word is not 0");
        return LT_EFORMAT;
    }
    v->fragments = p + LT_MSG_REPLY_FIXED_SIZE;
    v->fragments_len = h->payload_len - LT_MSG_REPLY_FIXED_SIZE;
    /* Walk the fragments: each header must decode and its size must fit what is left; the
     * sizes must add up to the payload exactly, with exactly `count` fragments. */
    const uint8_t *q = v->fragments;
    size_t left = v->fragments_len;
    for (uint32_t i = 0; i < h->count; i++) {
        struct lt_fragment_header fh;
        char ferr[160];
        int rc = lt_fragment_header_decode(q, left, &fh, ferr, sizeof ferr);
        if (rc) {
            lt_seterr(err, errlen, "data reply: fragment %u of %u: %s", i, h->count, ferr);
            return rc == LT_ESHORT ? LT_EFORMAT : rc;
        }
        if (fh.size > left) {
            lt_seterr(err, errlen, "data reply: fragment %u size %llu exceeds the %zu bytes left",
                      i, (unsigned long long)fh.size, left);
            return LT_EFORMAT;
        }
        q += fh.size;
        left -= (size_t)fh.size;
    }
    if (left != 0) {
        lt_seterr(err, errlen, "data reply: %zu bytes after the last of %u fragments", left,
                  h->count);
        return LT_EFORMAT;
    }
    return 0;
}

int lt_msg_decode(const void *buf, size_t len, struct lt_msg_view *v, char *err, size_t errlen)
{
    const uint8_t *b = buf;
    if (!b || len < LT_MSG_HEADER_SIZE) {
        lt_seterr(err, errlen, "message: %zu bytes, shorter than the %u-byte header", len,
                  LT_MSG_HEADER_SIZE);
        return LT_ESHORT;
    }
    memset(v, 0, sizeof *v);
    struct lt_msg_header *h = &v->hdr;
    header_get(b, h);
    if (h->magic != LT_MSG_MAGIC) {
        lt_seterr(err, errlen, "message: magic 0x%08x, expected 0x%08x", h->magic, LT_MSG_MAGIC);
        return LT_EMAGIC;
    }
    if (h->version != LT_MSG_VERSION) {
        lt_seterr(err, errlen, "message: version %u, expected %u", h->version, LT_MSG_VERSION);
        return LT_EVERSION;
    }
    if (h->type < LT_MSG_CANDIDATES || h->type > LT_MSG_DATA_REPLY) {
        lt_seterr(err, errlen, "message: unknown type %u", h->type);
        return LT_EFORMAT;
    }
    if (h->cell >= LT_MAX_CELLS) {
        lt_seterr(err, errlen, "%s message: cell %u out of range (max %u)",
                  lt_msg_type_name(h->type), h->cell, LT_MAX_CELLS - 1);
        return LT_ERANGE;
    }
    if (h->flags != 0) {
        lt_seterr(err, errlen, "%s message: flags 0x%x set (reserved)", lt_msg_type_name(h->type),
                  h->flags);
        return LT_EFORMAT;
    }
    if (len > LT_MSG_MAX_SIZE || h->payload_len > LT_MSG_MAX_SIZE - LT_MSG_HEADER_SIZE) {
        lt_seterr(err, errlen, "%s message: %zu bytes / payload %u exceed the %u-byte limit",
                  lt_msg_type_name(h->type), len, h->payload_len, LT_MSG_MAX_SIZE);
        return LT_ERANGE;
    }
    if (len - LT_MSG_HEADER_SIZE != h->payload_len) {
        lt_seterr(err, errlen, "%s message: %zu bytes after the header, payload_len says %u",
                  lt_msg_type_name(h->type), len - LT_MSG_HEADER_SIZE, h->payload_len);
        return len - LT_MSG_HEADER_SIZE < h->payload_len ? LT_ESHORT : LT_EFORMAT;
    }
    v->payload = b + LT_MSG_HEADER_SIZE;
    switch (h->type) {
    case LT_MSG_CANDIDATES:
        return decode_candidates(v, err, errlen);
    case LT_MSG_HEARTBEAT:
        if (h->count != 0 || h->payload_len != 0) {
            lt_seterr(err, errlen, "heartbeat: count %u / payload %u bytes, expected 0 / 0",
                      h->count, h->payload_len);
            return LT_EFORMAT;
        }
        return 0;
    case LT_MSG_DATA_REQUEST:
        return decode_request(v, err, errlen);
    default:
        return decode_reply(v, err, errlen);
    }
}

void lt_msg_candidate(const struct lt_msg_view *v, uint32_t i, struct lt_candidate *out)
{
    lt_candidate_get(v->payload + (size_t)i * LT_MSG_CANDIDATE_SIZE, out);
}

void lt_msg_frag_iter_init(const struct lt_msg_view *v, struct lt_msg_frag_iter *it)
{
    it->p = v->fragments;
    it->left = v->fragments_len;
}

int lt_msg_frag_next(struct lt_msg_frag_iter *it, struct lt_fragment_header *h,
                     const uint8_t **payload, size_t *payload_len)
{
    /* The decoder already proved every header decodes and every size fits; re-checking here
     * costs one decode and keeps a misused iterator (wrong view) from walking off the end. */
    if (!it->p || it->left < LT_FRAGMENT_HEADER_SIZE) return 0;
    if (lt_fragment_header_decode(it->p, it->left, h, NULL, 0) || h->size > it->left) return 0;
    *payload = it->p + LT_FRAGMENT_HEADER_SIZE;
    *payload_len = (size_t)h->size - LT_FRAGMENT_HEADER_SIZE;
    it->p += h->size;
    it->left -= (size_t)h->size;
    return 1;
}

const char *lt_msg_type_name(uint16_t type)
{
    switch (type) {
    case LT_MSG_CANDIDATES:
        return "candidates";
    case LT_MSG_HEARTBEAT:
        return "heartbeat";
    case LT_MSG_DATA_REQUEST:
        return "data_request";
    case LT_MSG_DATA_REPLY:
        return "data_reply";
    default:
        return "unknown";
    }
}
