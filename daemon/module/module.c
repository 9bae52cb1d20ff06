/* The module thread: see module.h. One loop, no locks: zmq_poll on both sockets with a short
 * timeout, then housekeeping (missing cells, readout timeouts, record hand-off, status
 * snapshot). */
#include "module.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "candidate_gate.h"
#include "module_mailbox.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "msg.h"
#include "readout.h"
#include "socket_security.h"
#include "ticks.h"
#include "record_sink.h"

#define POLL_MS        5
#define MAX_BATCH      256 /* messages per socket per loop, so neither socket starves the other */
#define DRAIN_QUIET_MS 200
/* At most this long taking messages at stop: a flooding peer never lets the sockets go quiet,
 * and SIGTERM must end in a second or two. */
#define DRAIN_INPUT_MS  1000
#define DRAIN_WRITER_MS 60000 /* how long shutdown waits for the writer beyond the replies */

struct trigd_module {
    const struct trigd_config *cfg;
    void *pull, *router;
    int curve;          /* data sockets authenticate their peers (CURVE + ZAP, cell-bound keys) */
    struct lt_zap *zap; /* the data context's ZAP handler (CURVE only) */
    struct trigd_agg *agg;
    struct trigd_input *input;
    struct trigd_readout *readout;
    struct trigd_record_sink *sink;
    pthread_t thread;
    int started;
    _Atomic int drain;
    int result;
    struct trigd_module_status st;
    uint64_t last_snapshot_ns;
    struct trigd_module_ctl ctl; /* operator requests (pause, manual trigger, thresholds) */
};

static int agg_accept(void *user)
{
    struct trigd_module *m = user;
    return trigd_readout_can_accept(m->readout);
}

static void agg_emit(void *user, const struct trigd_decision *d)
{
    struct trigd_module *m = user;
    LT_INFO("trigger %llu at %llu (%.6f s): algorithms 0x%x, %u cells, %u candidates",
            (unsigned long long)d->trigger_number, (unsigned long long)d->time,
            lt_ticks_to_seconds(d->time), d->algorithms, d->n_cells, d->n_candidates);
    trigd_module_ctl_on_decision(&m->ctl, d);
    trigd_readout_start(m->readout, d, lt_mono_ns());
}

static void snapshot(struct trigd_module *m)
{
    struct trigd_agg_stats a;
    trigd_agg_get_stats(m->agg, &a);
    struct trigd_module_status *s = &m->st;
    atomic_store(&s->agg_candidates, a.candidates);
    atomic_store(&s->agg_late, a.late);
    atomic_store(&s->agg_overflow, a.overflow);
    atomic_store(&s->agg_decisions, a.decisions);
    atomic_store(&s->agg_inhibited, a.inhibited);
    atomic_store(&s->agg_missing_now, a.cells_missing);
    atomic_store(&s->agg_missing_events, a.missing_events);
    atomic_store(&s->agg_rejoins, a.rejoin_events);
    atomic_store(&s->agg_horizon, a.horizon);
    atomic_store(&s->agg_latency_p50_ns, a.latency_p50_ns);
    atomic_store(&s->agg_latency_p99_ns, a.latency_p99_ns);
    atomic_store(&s->peers_refused, lt_zap_refused_peer_limit(m->zap));
    uint64_t faults[TRIGD_CELL_WORDS];
    trigd_input_clock_faults(m->input, lt_mono_ns(), faults);
    for (unsigned w = 0; w < TRIGD_CELL_WORDS; w++)
        atomic_store(&s->clock_fault_bits[w], faults[w]);
    for (unsigned k = 0; k < TRIGD_ALGO_COUNT; k++) {
        atomic_store(&s->timer_skipped[k], a.timer_skipped[k]);
        atomic_store(&s->agg_triggers[k], a.triggers[k]);
        atomic_store(&s->agg_inhibited_by[k], a.inhibited_by[k]);
    }
}

/* Bind with the data-plane policy: CURVE server (ZAP domain lartrig-data) on tcp unless
 * insecure; ipc files mode 0660; ZMQ_MAXMSGSIZE always (socket_security.h). */
static int bind_data_socket(struct trigd_module *m, void *sock, const char *ep,
                            const struct lt_zsec_config *sec, char *err, size_t errlen)
{
    if (m->curve || strncmp(ep, "tcp://", 6) != 0) return lt_zsec_bind(sock, ep, sec, err, errlen);
    /* Plain tcp, explicitly allowed (endpoints.insecure): the same limits and peer bound (the
     * ZAP domain), no keys. */
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &sec->max_msg_size, sizeof sec->max_msg_size) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, sec->zap_domain, strlen(sec->zap_domain)) ||
        zmq_bind(sock, ep)) {
        lt_seterr(err, errlen, "module: cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    return 0;
}

/* The cell a message's peer authenticated as ("cell-<id>" from the ZAP handler), or
 * TRIGD_PEER_ANY on an unauthenticated socket; -2 when CURVE is on and there is none. */
static int32_t peer_cell(const struct trigd_module *m, zmq_msg_t *msg)
{
    if (!m->curve) return TRIGD_PEER_ANY;
    const char *u = zmq_msg_gets(msg, "User-Id");
    unsigned id;
    char tail;
    if (!u || sscanf(u, "cell-%u%c", &id, &tail) != 1 || id > LT_ZAP_MAX_CELL_ID) return -2;
    return (int32_t)id;
}

int trigd_module_create(const struct trigd_config *cfg, void *zctx, struct trigd_module **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    struct trigd_module *m = calloc(1, sizeof *m);
    if (!m) {
        lt_seterr(err, errlen, "module: out of memory");
        return LT_ENOMEM;
    }
    m->cfg = cfg;
    trigd_module_ctl_init(&m->ctl);
    const char *cand_ep = cfg->endpoints.candidates_bind[0] ? cfg->endpoints.candidates_bind
                                                            : cfg->endpoints.candidates;
    const char *req_ep =
        cfg->endpoints.requests_bind[0] ? cfg->endpoints.requests_bind : cfg->endpoints.requests;
    int rc;
    char secret[LT_Z85_KEY_LEN + 1] = "";
    struct lt_zsec_config sec = {.zap_domain = "lartrig-data"};
    m->curve = trigd_config_data_curve(cfg);
    int tcp = trigd_config_data_tcp(cfg);
    m->pull = zmq_socket(zctx, ZMQ_PULL);
    m->router = zmq_socket(zctx, ZMQ_ROUTER);
    int hwm = 100000, zero = 0, one = 1, linger = 0, hs = 3000;
    /* Bounded input: libzmq drops a peer that announces a message larger than any valid one
     * (the biggest CANDIDATES message here, a whole DATA_REPLY on the ROUTER) before it
     * allocates it, so a rogue tcp peer cannot make the module reserve gigabytes. A peer that
     * has not finished its handshake in 3 s is dropped (libzmq: 30 s). Routing ids are the
     * ROUTER's own (no handover of a name a peer chose): the readout learns which connection is
     * which cell from the cells' hellos. */
    int64_t max_cand = (int64_t)lt_msg_candidates_size(LT_MSG_MAX_CANDIDATES);
    int64_t max_reply = LT_MSG_MAX_SIZE;
    if (!m->pull || !m->router || zmq_setsockopt(m->pull, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(m->pull, ZMQ_HANDSHAKE_IVL, &hs, sizeof hs) ||
        zmq_setsockopt(m->pull, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(m->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
        zmq_setsockopt(m->router, ZMQ_ROUTER_HANDOVER, &zero, sizeof zero) ||
        zmq_setsockopt(m->router, ZMQ_HANDSHAKE_IVL, &hs, sizeof hs) ||
        zmq_setsockopt(m->router, ZMQ_LINGER, &linger, sizeof linger)) {
        lt_seterr(err, errlen, "module: data sockets: %s", zmq_strerror(zmq_errno()));
        rc = LT_EIO;
        goto fail;
    }
    if (tcp) {
        /* Over tcp a ZAP handler admits peers: by their cell key (CURVE), or any (insecure),
         * and never more connections than endpoints.max_peers. */
        void *watch[2] = {m->pull, m->router};
        int64_t max_peers =
            cfg->endpoints.max_peers ? cfg->endpoints.max_peers : 4 * (int64_t)cfg->n_cells + 16;
        rc = m->curve ? lt_zsec_read_key_file(cfg->endpoints.curve_module_secret_key_file, secret,
                                              err, errlen)
                      : 0;
        if (!rc)
            rc = lt_zap_start_cells(zctx, m->curve ? cfg->endpoints.curve_cell_keys_file : NULL,
                                    watch, 2, max_peers, &m->zap, err, errlen);
        if (rc) goto fail;
        if (m->curve) {
            sec.server_secret_key = secret;
            sec.allowed_keys_file = cfg->endpoints.curve_cell_keys_file;
            LT_INFO("data sockets: CURVE, cells allowed by %s, at most %lld connections",
                    cfg->endpoints.curve_cell_keys_file, (long long)max_peers);
        } else {
            LT_WARN("INSECURE: the data sockets (%s, %s) are plain tcp without keys "
                    "(endpoints.insecure = true): any host that reaches them can forge "
                    "candidates and replies; see docs/security.md",
                    cand_ep, req_ep);
        }
    }
    sec.max_msg_size = max_cand;
    rc = bind_data_socket(m, m->pull, cand_ep, &sec, err, errlen);
    sec.max_msg_size = max_reply;
    if (!rc) rc = bind_data_socket(m, m->router, req_ep, &sec, err, errlen);
    explicit_bzero(secret, sizeof secret);
    if (rc) goto fail;
    rc = trigd_record_sink_recwriter(cfg, &m->sink, err, errlen);
    if (rc) goto fail;
    rc = trigd_readout_create(cfg, m->router, m->sink, &m->st, &m->readout, err, errlen);
    if (rc) goto fail;
    rc = trigd_input_create(cfg, &m->input, err, errlen);
    if (rc) goto fail;
    struct trigd_agg_callbacks cb = {agg_accept, agg_emit, m};
    rc = trigd_agg_create(cfg, &cb, lt_mono_ns(), &m->agg, err, errlen);
    if (rc) goto fail;
    *out = m;
    return 0;
fail:
    trigd_module_destroy(m);
    return rc;
}

/* Take up to MAX_BATCH messages from each socket; returns how many were taken. */
static int pump(struct trigd_module *m, zmq_msg_t *msg, zmq_msg_t *id)
{
    int n = 0;
    for (int i = 0; i < MAX_BATCH; i++) {
        if (zmq_msg_recv(msg, m->pull, ZMQ_DONTWAIT) < 0) break;
        n++;
        /* A multi-part message is not ours: drop all its parts as one bad message. */
        int bad_parts = zmq_msg_more(msg);
        if (!bad_parts) {
            trigd_input_handle_peer(m->input, m->agg, zmq_msg_data(msg), zmq_msg_size(msg),
                                    peer_cell(m, msg), lt_mono_ns(), &m->st);
        } else {
            atomic_fetch_add(&m->st.msgs, 1);
            atomic_fetch_add(&m->st.msgs_bad, 1);
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "multi-part message on the candidate socket "
                               "dropped");
            while (zmq_msg_more(msg) && zmq_msg_recv(msg, m->pull, ZMQ_DONTWAIT) >= 0) {
            }
        }
    }
    for (int i = 0; i < MAX_BATCH; i++) {
        if (zmq_msg_recv(id, m->router, ZMQ_DONTWAIT) < 0) break;
        n++;
        if (!zmq_msg_more(id)) { /* identity without a body: not a reply */
            atomic_fetch_add(&m->st.replies_bad, 1);
            continue;
        }
        if (zmq_msg_recv(msg, m->router, ZMQ_DONTWAIT) < 0) break;
        if (zmq_msg_more(msg)) {
            atomic_fetch_add(&m->st.replies_bad, 1);
            while (zmq_msg_more(msg) && zmq_msg_recv(msg, m->router, ZMQ_DONTWAIT) >= 0) {
            }
            continue;
        }
        trigd_readout_on_reply(m->readout, id, msg, lt_mono_ns());
    }
    return n;
}

static void housekeeping(struct trigd_module *m, uint64_t now)
{
    trigd_agg_poll(m->agg, now);
    trigd_readout_service(m->readout, now);
    trigd_module_ctl_service(&m->ctl, m->agg);
    if (now - m->last_snapshot_ns > 100000000ULL) {
        snapshot(m);
        trigd_module_ctl_snapshot(&m->ctl, m->agg, m->sink);
        m->last_snapshot_ns = now;
    }
}

static void *module_main(void *arg)
{
    struct trigd_module *m = arg;
    zmq_msg_t msg, id;
    zmq_msg_init(&msg);
    zmq_msg_init(&id);
    while (!atomic_load(&m->drain)) {
        zmq_pollitem_t items[2] = {{.socket = m->pull, .events = ZMQ_POLLIN},
                                   {.socket = m->router, .events = ZMQ_POLLIN}};
        zmq_poll(items, 2, POLL_MS);
        atomic_fetch_add_explicit(&m->st.loops, 1, memory_order_relaxed);
        pump(m, &msg, &id);
        housekeeping(m, lt_mono_ns());
    }
    /* Drain: keep taking messages until the sockets stay quiet, then decide the rest. */
    uint64_t quiet_since = lt_mono_ns();
    uint64_t drain_end = quiet_since + DRAIN_INPUT_MS * 1000000ULL;
    for (;;) {
        zmq_pollitem_t items[2] = {{.socket = m->pull, .events = ZMQ_POLLIN},
                                   {.socket = m->router, .events = ZMQ_POLLIN}};
        zmq_poll(items, 2, POLL_MS);
        atomic_fetch_add_explicit(&m->st.loops, 1, memory_order_relaxed);
        uint64_t now = lt_mono_ns();
        if (pump(m, &msg, &id)) quiet_since = now;
        housekeeping(m, now);
        if (now - quiet_since > DRAIN_QUIET_MS * 1000000ULL) break;
        if (now > drain_end) {
            LT_WARN("shutdown: the candidate and request sockets did not go quiet within %u ms; "
                    "deciding with what has arrived",
                    DRAIN_INPUT_MS);
            break;
        }
    }
    trigd_agg_flush(m->agg, lt_mono_ns());
    /* Every issued decision is read out and handed to the writer; replies have at most
     * reply_timeout_ms, the writer's queue drains at disk speed. */
    uint64_t deadline =
        lt_mono_ns() + ((uint64_t)m->cfg->readout.reply_timeout_ms + DRAIN_WRITER_MS) * 1000000ULL;
    while (trigd_readout_in_flight(m->readout)) {
        zmq_pollitem_t items[1] = {{.socket = m->router, .events = ZMQ_POLLIN}};
        zmq_poll(items, 1, POLL_MS);
        atomic_fetch_add_explicit(&m->st.loops, 1, memory_order_relaxed);
        pump(m, &msg, &id);
        uint64_t now = lt_mono_ns();
        trigd_readout_service(m->readout, now);
        if (now > deadline) {
            /* The writer is stuck (e.g. the disk stays full): stop waiting; the sink's stop
             * fails what it still holds, counted and logged. */
            LT_ERR("shutdown: %u readouts still unwritten after %u ms; giving up on them",
                   trigd_readout_in_flight(m->readout),
                   m->cfg->readout.reply_timeout_ms + DRAIN_WRITER_MS);
            break;
        }
    }
    snapshot(m);
    trigd_module_ctl_snapshot(&m->ctl, m->agg, m->sink);
    zmq_msg_close(&msg);
    zmq_msg_close(&id);
    return NULL;
}

int trigd_module_start(struct trigd_module *m, char *err, size_t errlen)
{
    m->last_snapshot_ns = lt_mono_ns();
    if (pthread_create(&m->thread, NULL, module_main, m) != 0) {
        lt_seterr(err, errlen, "module: cannot start its thread");
        return LT_ENOMEM;
    }
    m->started = 1;
    return 0;
}

int trigd_module_drain(struct trigd_module *m)
{
    atomic_store(&m->drain, 1);
    if (m->started) {
        pthread_join(m->thread, NULL);
        m->started = 0;
    }
    int rc = 0;
    if (m->sink) {
        rc = m->sink->stop(m->sink, 30000);
        m->sink = NULL;
    }
    trigd_readout_abandon(m->readout);
    uint64_t failed = atomic_load(&m->st.records_failed);
    if (failed) LT_ERR("%llu records could not be written", (unsigned long long)failed);
    return rc ? rc : (failed ? LT_EIO : 0);
}

void trigd_module_destroy(struct trigd_module *m)
{
    if (!m) return;
    if (m->started) trigd_module_drain(m);
    if (m->sink) m->sink->stop(m->sink, 30000);
    trigd_readout_destroy(m->readout);
    trigd_input_destroy(m->input);
    trigd_agg_destroy(m->agg);
    if (m->pull) zmq_close(m->pull);
    if (m->router) zmq_close(m->router);
    lt_zap_stop(m->zap); /* after the sockets it served */
    trigd_module_ctl_destroy(&m->ctl);
    free(m);
}

const struct trigd_module_status *trigd_module_status(const struct trigd_module *m)
{
    return &m->st;
}

struct trigd_module_ctl *trigd_module_ctl(struct trigd_module *m)
{
    return &m->ctl;
}
