/* Module-side readout: see readout.h. A slot goes FREE -> REQUESTING -> (all replies or
 * timeout) -> WRITING (the sink owns the record; reply messages stay alive because the record's
 * fragments point into them) -> done() on the writer thread sets `written` -> FREE. */
#include "readout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lt_error.h"
#include "msg.h"
#include "record_builder.h"

enum slot_state { SLOT_FREE = 0, SLOT_REQUESTING, SLOT_BUILT, SLOT_WRITING };
/* A cell's request in a slot: not sent (unreachable), sent, or held until the cell's first
 * hello (start-up grace, below). */
enum { SENT_NO = 0, SENT_YES = 1, SENT_AWAIT_HELLO = 2 };

struct slot {
    enum slot_state state;
    struct trigd_decision *dec;
    uint64_t deadline_ns;
    uint32_t n_replied;
    uint32_t n_expected;      /* requests that went out (unroutable cells cannot answer) */
    uint32_t n_waiting;       /* cells in SENT_AWAIT_HELLO */
    zmq_msg_t *reply;         /* per configured cell */
    uint8_t *have;            /* per cell: reply stored */
    uint8_t *sent;            /* per cell: SENT_* (only a request that went out takes a reply) */
    uint32_t *sent_gen;       /* per cell: generation of the route it went out on */
    struct lt_msg_view *view; /* per cell: decoded reply */
    const struct lt_msg_view **view_ptr;
    struct trigd_record_parts parts;
    _Atomic int written; /* set by done() on the writer thread */
    int write_status;
    struct trigd_readout *owner;
};

/* Where a cell's data requests go: the ROUTER's routing id of the connection that last said
 * hello as that cell (authenticated as that cell under CURVE). */
#define ROUTE_MAX 32
struct route {
    uint8_t id[ROUTE_MAX];
    uint8_t len;  /* 0 = no route yet */
    uint32_t gen; /* changes with every new connection */
    uint64_t last_hello_ns;
};
/* A route whose connection said hello this recently is alive: another connection's hello for
 * the same cell is refused (a second claimant, not a reconnection). A real reconnection finds
 * the old route silent after this. */
#define ROUTE_ALIVE_NS (3ULL * LT_MSG_HELLO_INTERVAL_MS * 1000000ULL)

struct trigd_readout {
    struct lt_readout_config cfg; /* its own slice, copied */
    struct route *routes;         /* per configured cell */
    int curve;
    void *router;
    struct trigd_record_sink *sink;
    struct trigd_readout_stats st; /* module thread */
    uint32_t n_slots;
    struct slot *slots;
    uint32_t in_flight;
    uint64_t seq;
    uint64_t t0_ns; /* the first time the readout was called, once t0_set (0 is a valid time) */
    int t0_set;
    uint8_t req_buf[LT_MSG_HEADER_SIZE + LT_MSG_REQUEST_SIZE];
};

/* Start-up grace: a cell's hello comes on the request socket, its candidates and heartbeats on
 * another, so the first decisions can be made before a cell that is up has said hello (an
 * unpaced file source decides its first trigger within a millisecond of start). During the
 * first reply_timeout_ms a cell that has never said hello is waited for, up to the request's
 * own deadline, instead of being reported unreachable at once; after that a cell without a
 * route is unreachable at once (a cell that is not running must not hold every record). */
static void note_time(struct trigd_readout *r, uint64_t now_ns)
{
    if (!r->t0_set) {
        r->t0_ns = now_ns;
        r->t0_set = 1;
    }
}

static int in_startup_grace(const struct trigd_readout *r, uint64_t now_ns)
{
    return now_ns - r->t0_ns < (uint64_t)r->cfg.reply_timeout_ms * 1000000ULL;
}

static void record_done(struct lt_rw_record *rec, int status, void *user)
{
    (void)rec;
    struct slot *s = user;
    s->write_status = status;
    atomic_store_explicit(&s->written, 1, memory_order_release);
}

int trigd_readout_create(const struct lt_readout_config *cfg, void *router,
                         struct trigd_record_sink *sink, struct trigd_readout **out, char *err,
                         size_t errlen)
{
    struct trigd_readout *r = calloc(1, sizeof *r);
    if (!r) goto nomem;
    r->cfg = *cfg;
    r->router = router;
    r->sink = sink;
    r->n_slots = cfg->decision_queue;
    r->curve = cfg->curve;
    r->routes = calloc(cfg->layout.n_cells, sizeof *r->routes);
    if (!r->routes) goto fail;
    r->slots = calloc(r->n_slots, sizeof *r->slots);
    if (!r->slots) goto fail;
    for (uint32_t i = 0; i < r->n_slots; i++) {
        struct slot *s = &r->slots[i];
        s->owner = r;
        s->dec = malloc(sizeof *s->dec);
        s->reply = calloc(cfg->layout.n_cells, sizeof *s->reply);
        s->have = calloc(cfg->layout.n_cells, 1);
        s->sent = calloc(cfg->layout.n_cells, 1);
        s->sent_gen = calloc(cfg->layout.n_cells, sizeof *s->sent_gen);
        s->view = calloc(cfg->layout.n_cells, sizeof *s->view);
        s->view_ptr = calloc(cfg->layout.n_cells, sizeof *s->view_ptr);
        if (!s->dec || !s->reply || !s->have || !s->sent || !s->sent_gen || !s->view ||
            !s->view_ptr)
            goto fail;
        if (trigd_record_parts_init(&s->parts, &cfg->layout)) goto fail;
    }
    *out = r;
    return 0;
fail:
    trigd_readout_destroy(r);
nomem:
    lt_seterr(err, errlen, "readout: out of memory");
    return LT_ENOMEM;
}

static void release_replies(struct trigd_readout *r, struct slot *s)
{
    for (uint32_t i = 0; i < r->cfg.layout.n_cells; i++)
        if (s->have[i]) {
            zmq_msg_close(&s->reply[i]);
            s->have[i] = 0;
        }
}

void trigd_readout_destroy(struct trigd_readout *r)
{
    if (!r) return;
    if (r->slots)
        for (uint32_t i = 0; i < r->n_slots; i++) {
            struct slot *s = &r->slots[i];
            if (s->have) release_replies(r, s);
            free(s->dec);
            free(s->reply);
            free(s->have);
            free(s->sent);
            free(s->sent_gen);
            free(s->view);
            free(s->view_ptr);
            trigd_record_parts_free(&s->parts);
        }
    free(r->slots);
    free(r->routes);
    free(r);
}

int trigd_readout_can_accept(struct trigd_readout *r)
{
    if (r->in_flight >= r->n_slots) return 0;
    return !r->sink->inhibited(r->sink);
}

uint64_t trigd_readout_requesting_from(const struct trigd_readout *r)
{
    uint64_t t = UINT64_MAX;
    for (uint32_t i = 0; i < r->n_slots; i++)
        if (r->slots[i].state == SLOT_REQUESTING && r->slots[i].dec->window_begin < t)
            t = r->slots[i].dec->window_begin;
    return t;
}

uint32_t trigd_readout_in_flight(const struct trigd_readout *r)
{
    return r->in_flight;
}

/* The User-Id the data ZAP handler gives the holder of a cell's key. */
static int cell_user_id(uint32_t cell, char *buf, size_t len)
{
    return snprintf(buf, len, "cell-%u", cell);
}

static void set_unreachable(struct trigd_readout *r, uint32_t cell, int unreachable)
{
    uint64_t bit = 1ULL << (cell % 64);
    if (unreachable)
        r->st.unreachable_bits[cell / 64] |= bit;
    else
        r->st.unreachable_bits[cell / 64] &= ~bit;
}

static int send_request(struct trigd_readout *r, uint32_t idx, const struct trigd_decision *d)
{
    uint32_t cell = r->cfg.layout.cells[idx].id;
    const struct route *rt = &r->routes[idx];
    if (!rt->len) {
        errno = EHOSTUNREACH; /* the cell has not said hello (yet) */
        return -1;
    }
    struct lt_msg_data_request rq = {
        .trigger_number = d->trigger_number,
        .trigger_timestamp = d->time,
        .window_begin = d->window_begin,
        .window_end = d->window_end - 1, /* inclusive on the wire */
        .request_id = d->trigger_number,
        .run_number = r->cfg.layout.run_number,
        .cell = cell,
    };
    size_t len;
    if (lt_msg_encode_data_request(r->req_buf, sizeof r->req_buf, ++r->seq, &rq, &len)) return -1;
    /* ZMQ_ROUTER_MANDATORY: a peer gone fails at once (EHOSTUNREACH) instead of silently. */
    if (zmq_send(r->router, rt->id, rt->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) != (int)rt->len) return -1;
    if (zmq_send(r->router, r->req_buf, len, ZMQ_DONTWAIT) != (int)len) return -1;
    return 0;
}

/* Send slot s's request to cell i, or report the cell unreachable. */
static void try_send(struct trigd_readout *r, struct slot *s, uint32_t i)
{
    const struct trigd_decision *d = s->dec;
    uint32_t cell = r->cfg.layout.cells[i].id;
    s->sent[i] = send_request(r, i, d) == 0 ? SENT_YES : SENT_NO;
    s->sent_gen[i] = r->routes[i].gen;
    set_unreachable(r, cell, s->sent[i] != SENT_YES);
    if (s->sent[i] == SENT_YES) {
        s->n_expected++;
        return;
    }
    /* Not silently "not found": the cell is listed unreachable (and missing) in status. */
    r->st.requests_unroutable++;
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                       "trigger %llu: cell %u is unreachable for data requests (%s): reported "
                       "missing; its fragments are flagged kDataNotFound",
                       (unsigned long long)d->trigger_number, cell,
                       r->routes[i].len ? zmq_strerror(zmq_errno()) : "it never said hello");
}

/* Requests held for a first hello: send those whose cell has a route now; at the deadline the
 * others are unreachable. */
static void send_awaited(struct trigd_readout *r, struct slot *s, uint64_t now_ns)
{
    for (uint32_t i = 0; s->n_waiting && i < r->cfg.layout.n_cells; i++) {
        if (s->sent[i] != SENT_AWAIT_HELLO || (!r->routes[i].len && now_ns < s->deadline_ns))
            continue;
        s->n_waiting--;
        try_send(r, s, i);
    }
}

void trigd_readout_start(struct trigd_readout *r, const struct trigd_decision *d, uint64_t now_ns)
{
    note_time(r, now_ns);
    struct slot *s = NULL;
    for (uint32_t i = 0; i < r->n_slots; i++)
        if (r->slots[i].state == SLOT_FREE) {
            s = &r->slots[i];
            break;
        }
    if (!s) { /* accept() said yes, so this cannot happen; never lose it silently if it does */
        LT_ERR("trigger %llu: no readout slot free; decision lost",
               (unsigned long long)d->trigger_number);
        return;
    }
    memcpy(s->dec, d, offsetof(struct trigd_decision, candidates));
    memcpy(s->dec->candidates, d->candidates, d->n_candidates * sizeof(struct lt_candidate));
    s->state = SLOT_REQUESTING;
    s->n_replied = 0;
    s->deadline_ns = now_ns + (uint64_t)r->cfg.reply_timeout_ms * 1000000ULL;
    atomic_store(&s->written, 0);
    r->in_flight++;
    s->n_expected = 0;
    s->n_waiting = 0;
    for (uint32_t i = 0; i < r->cfg.layout.n_cells; i++) {
        if (!r->routes[i].len && in_startup_grace(r, now_ns)) {
            s->sent[i] = SENT_AWAIT_HELLO;
            s->n_waiting++;
            continue;
        }
        try_send(r, s, i);
    }
}

static int cell_index(const struct lt_readout_config *cfg, uint32_t id)
{
    return trigd_record_cell_index(&cfg->layout, id);
}

static int is_route(const struct route *rt, const zmq_msg_t *identity)
{
    size_t n = zmq_msg_size((zmq_msg_t *)identity);
    return rt->len && n == rt->len && memcmp(zmq_msg_data((zmq_msg_t *)identity), rt->id, n) == 0;
}

/* A cell's hello: its data requests go to this connection from now on. Under CURVE only the
 * holder of the cell's key can say it; without, the last hello wins (docs/security.md). */
static void on_hello(struct trigd_readout *r, const zmq_msg_t *identity, zmq_msg_t *payload,
                     const struct lt_msg_view *v, uint64_t now_ns)
{
    int idx = cell_index(&r->cfg, v->hdr.cell);
    size_t n = zmq_msg_size((zmq_msg_t *)identity);
    char uid[32];
    cell_user_id(v->hdr.cell, uid, sizeof uid);
    const char *user = zmq_msg_gets(payload, "User-Id");
    const char *why = NULL;
    if (idx < 0)
        why = "is not configured";
    else if (r->curve && (!user || strcmp(user, uid) != 0))
        why = "comes from a peer authenticated as another cell";
    else if (n == 0 || n > ROUTE_MAX)
        why = "has an unusable routing id";
    else if (r->routes[idx].len && !is_route(&r->routes[idx], identity) &&
             now_ns - r->routes[idx].last_hello_ns < ROUTE_ALIVE_NS)
        why = "comes from another connection while the cell's route is alive";
    if (why) {
        r->st.replies_bad++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3, "hello for cell %u refused: it %s", v->hdr.cell,
                           why);
        return;
    }
    struct route *rt = &r->routes[idx];
    rt->last_hello_ns = now_ns;
    if (is_route(rt, identity)) return;
    memcpy(rt->id, zmq_msg_data((zmq_msg_t *)identity), n);
    rt->len = (uint8_t)n;
    rt->gen++;
    LT_INFO("cell %u: data requests go to %s connection", v->hdr.cell,
            rt->gen == 1 ? "its" : "its new");
    for (uint32_t i = 0; i < r->n_slots; i++) /* requests held for this hello go out now */
        if (r->slots[i].state == SLOT_REQUESTING && r->slots[i].n_waiting)
            send_awaited(r, &r->slots[i], now_ns);
}

void trigd_readout_on_reply(struct trigd_readout *r, const zmq_msg_t *identity, zmq_msg_t *payload,
                            uint64_t now_ns)
{
    note_time(r, now_ns);
    struct lt_msg_view v;
    char err[200];
    int rc = lt_msg_decode(zmq_msg_data(payload), zmq_msg_size(payload), &v, err, sizeof err);
    int idx = -1;
    if (rc == 0 && v.hdr.type == LT_MSG_HEARTBEAT) {
        on_hello(r, identity, payload, &v, now_ns);
        zmq_msg_close(payload);
        zmq_msg_init(payload);
        return;
    }
    if (rc == 0 && v.hdr.type != LT_MSG_DATA_REPLY) {
        rc = LT_EFORMAT;
        snprintf(err, sizeof err, "a %s message on the request socket",
                 lt_msg_type_name(v.hdr.type));
    }
    if (rc == 0 && (idx = cell_index(&r->cfg, v.reply.cell)) < 0) {
        rc = LT_ERANGE;
        snprintf(err, sizeof err, "reply from cell %u, which is not configured", v.reply.cell);
    }
    if (rc == 0) {
        /* Matched to its request: only from the routing id the request went to (and, with
         * CURVE, from the peer holding that cell's key), for the request's id. */
        char rid[32];
        cell_user_id(v.reply.cell, rid, sizeof rid);
        const char *user = zmq_msg_gets(payload, "User-Id");
        if (!is_route(&r->routes[idx], identity)) {
            rc = LT_EINVAL;
            snprintf(err, sizeof err, "reply for cell %u from a connection that is not its route",
                     v.reply.cell);
        } else if (r->curve && (!user || strcmp(user, rid) != 0)) {
            rc = LT_EINVAL;
            snprintf(err, sizeof err, "reply for cell %u from the peer authenticated as %.40s",
                     v.reply.cell, user);
        } else if (v.reply.request_id != v.reply.trigger_number) {
            rc = LT_EINVAL;
            snprintf(err, sizeof err, "reply of cell %u: request id %llu is not trigger %llu's",
                     v.reply.cell, (unsigned long long)v.reply.request_id,
                     (unsigned long long)v.reply.trigger_number);
        }
    }
    if (rc) {
        r->st.replies_bad++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3, "bad data reply dropped: %s", err);
        zmq_msg_close(payload);
        zmq_msg_init(payload);
        return;
    }
    for (uint32_t i = 0; i < r->n_slots; i++) {
        struct slot *s = &r->slots[i];
        if (s->state != SLOT_REQUESTING || s->dec->trigger_number != v.reply.request_id ||
            s->sent[idx] != SENT_YES || s->sent_gen[idx] != r->routes[idx].gen || s->have[idx])
            continue;
        zmq_msg_init(&s->reply[idx]);
        zmq_msg_move(&s->reply[idx], payload);
        /* The view must point into the message we keep (a small message's bytes live inside
         * the zmq_msg_t itself and move with it). */
        if (lt_msg_decode(zmq_msg_data(&s->reply[idx]), zmq_msg_size(&s->reply[idx]), &s->view[idx],
                          NULL, 0) != 0) {
            zmq_msg_close(&s->reply[idx]);
            r->st.replies_bad++;
            return;
        }
        s->have[idx] = 1;
        s->n_replied++;
        r->st.replies++;
        return;
    }
    r->st.replies_late++;
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                       "reply of cell %u for trigger %llu arrived after its record was built: "
                       "dropped",
                       v.reply.cell, (unsigned long long)v.reply.trigger_number);
    zmq_msg_close(payload);
    zmq_msg_init(payload);
}

static void build(struct trigd_readout *r, struct slot *s)
{
    for (uint32_t i = 0; i < r->cfg.layout.n_cells; i++) {
        s->view_ptr[i] = s->have[i] ? &s->view[i] : NULL;
        if (!s->have[i]) {
            r->st.reply_timeouts++;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "trigger %llu: cell %u did not answer within %u ms; its fragments "
                               "are flagged kDataNotFound",
                               (unsigned long long)s->dec->trigger_number,
                               r->cfg.layout.cells[i].id, r->cfg.reply_timeout_ms);
        }
    }
    trigd_record_build(&s->parts, &r->cfg.layout, s->dec, s->view_ptr);
    s->parts.rec.done = record_done;
    s->parts.rec.user = s;
    r->st.fragments_not_found += s->parts.not_found;
    r->st.fragments_incomplete += s->parts.incomplete;
    r->st.records_built++;
    s->state = SLOT_BUILT;
}

void trigd_readout_service(struct trigd_readout *r, uint64_t now_ns)
{
    for (uint32_t i = 0; i < r->n_slots; i++) {
        struct slot *s = &r->slots[i];
        if (s->state == SLOT_REQUESTING && s->n_waiting) send_awaited(r, s, now_ns);
        if (s->state == SLOT_REQUESTING &&
            ((!s->n_waiting && s->n_replied >= s->n_expected) || now_ns >= s->deadline_ns))
            build(r, s);
        if (s->state == SLOT_BUILT) {
            int rc = r->sink->submit(r->sink, &s->parts.rec);
            if (rc == 0) {
                s->state = SLOT_WRITING;
            } else if (rc == LT_EFULL) {
                r->st.writer_full++; /* kept; tried again next round */
            } else {
                r->st.records_failed++;
                LT_ERR("trigger %llu: the writer refused the record (%s)",
                       (unsigned long long)s->dec->trigger_number, lt_strerror(rc));
                s->state = SLOT_WRITING;
                atomic_store(&s->written, 1);
                s->write_status = rc;
            }
        }
        if (s->state == SLOT_WRITING && atomic_load_explicit(&s->written, memory_order_acquire)) {
            if (s->write_status == 0)
                r->st.records_written++;
            else if (s->write_status != LT_EINVAL)
                r->st.records_failed++;
            release_replies(r, s);
            s->state = SLOT_FREE;
            r->in_flight--;
        }
    }
}

uint32_t trigd_readout_abandon(struct trigd_readout *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_slots; i++) {
        struct slot *s = &r->slots[i];
        if (s->state == SLOT_FREE) continue;
        if (s->state == SLOT_WRITING && atomic_load_explicit(&s->written, memory_order_acquire)) {
            /* Written (or failed) while the sink drained at stop. */
            if (s->write_status == 0)
                r->st.records_written++;
            else if (s->write_status != LT_EINVAL)
                r->st.records_failed++;
            release_replies(r, s);
            s->state = SLOT_FREE;
            r->in_flight--;
            continue;
        }
        /* Never handed to the sink, or never finished by it: the record is lost. */
        LT_ERR("trigger %llu: record never written (shutdown)",
               (unsigned long long)s->dec->trigger_number);
        r->st.records_failed++;
        release_replies(r, s);
        s->state = SLOT_FREE;
        r->in_flight--;
        n++;
    }
    return n;
}

void trigd_readout_count_bad_reply(struct trigd_readout *r)
{
    r->st.replies_bad++;
}

void trigd_readout_snapshot(const struct trigd_readout *r, struct trigd_readout_stats *out)
{
    *out = r->st;
    out->in_flight = r->in_flight;
}
