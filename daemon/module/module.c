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
/* An orderly end (the sources finished) takes messages for at most this long (a flooding peer
 * never lets the sockets go quiet), then waits for the replies and at most DRAIN_WRITER_MS for
 * the writer; it writes everything it can. */
#define DRAIN_INPUT_MS  1000
#define DRAIN_WRITER_MS 60000
/* A stop with a deadline (SIGTERM, stop_deadline_ms) splits it: input until 30%, readouts and
 * writer queue until 70%, the writer's abandon + close + rename until 90%; the rest is the
 * margin for joining the threads and closing the sockets. */
#define STOP_INPUT_PCT   30
#define STOP_READOUT_PCT 70
#define STOP_WRITER_PCT  90

struct trigd_module {
    struct trigd_module_config cfg; /* its own slice, copied */
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
    /* Set before drain: 0 for an orderly end, else the stop's start and length (ns). */
    _Atomic uint64_t stop_t0_ns, stop_len_ns;
    int result;
    uint64_t last_snapshot_ns;
    pthread_mutex_t pub_lock; /* guards pub */
    struct trigd_module_stats pub;
    struct trigd_module_ctl ctl; /* operator requests (pause, manual trigger, thresholds) */
    struct trigd_module_observer obs;
    _Atomic uint64_t ring_needed_from; /* trigd_module_ring_needed_from */
    _Atomic uint64_t loops;            /* iterations of the thread's loop (watchdog progress) */
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
    if (m->obs.on_decision) m->obs.on_decision(m->obs.user, d);
    trigd_readout_start(m->readout, d, lt_mono_ns());
}

static void agg_inhibited(void *user, const struct trigd_decision *d)
{
    struct trigd_module *m = user;
    if (m->obs.on_inhibited) m->obs.on_inhibited(m->obs.user, d);
}

/* Module thread (or the caller once it has joined): every stage's snapshot, published together. */
static void publish(struct trigd_module *m)
{
    struct trigd_module_stats st;
    memset(&st, 0, sizeof st);
    trigd_input_snapshot(m->input, &st.input);
    trigd_agg_get_stats(m->agg, &st.agg);
    for (uint32_t i = 0; i < trigd_agg_n_cells(m->agg); i++) {
        struct trigd_agg_cell_stats cs;
        trigd_agg_get_cell_stats(m->agg, i, &cs);
        if (cs.missing && cs.id < LT_MAX_CELLS) st.missing_bits[cs.id / 64] |= 1ULL << (cs.id % 64);
    }
    trigd_input_clock_faults(m->input, lt_mono_ns(), st.clock_fault_bits);
    st.peers_refused = lt_zap_refused_peer_limit(m->zap);
    trigd_readout_snapshot(m->readout, &st.readout);
    pthread_mutex_lock(&m->pub_lock);
    if (m->sink && m->sink->status) {
        m->sink->status(m->sink, &st.writer);
        st.writer_valid = 1;
    } else { /* the writer has stopped: its last status stands */
        st.writer = m->pub.writer;
        st.writer_valid = m->pub.writer_valid;
    }
    m->pub = st;
    pthread_mutex_unlock(&m->pub_lock);
}

const _Atomic uint64_t *trigd_module_ring_needed_from(const struct trigd_module *m)
{
    return &m->ring_needed_from;
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

void trigd_module_snapshot(struct trigd_module *m, struct trigd_module_stats *out)
{
    pthread_mutex_lock(&m->pub_lock);
    *out = m->pub;
    pthread_mutex_unlock(&m->pub_lock);
}

uint64_t trigd_module_loops(struct trigd_module *m)
{
    return atomic_load_explicit(&m->loops, memory_order_relaxed);
}

int trigd_module_create(const struct trigd_module_config *cfg, void *zctx,
                        const struct trigd_module_observer *obs, struct trigd_module **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    struct trigd_module *m = calloc(1, sizeof *m);
    if (!m) {
        lt_seterr(err, errlen, "module: out of memory");
        return LT_ENOMEM;
    }
    m->cfg = *cfg;
    if (obs) m->obs = *obs;
    pthread_mutex_init(&m->pub_lock, NULL);
    trigd_module_ctl_init(&m->ctl);
    const char *cand_ep = cfg->candidates_bind, *req_ep = cfg->requests_bind;
    int rc;
    char secret[LT_Z85_KEY_LEN + 1] = "";
    struct lt_zsec_config sec = {.zap_domain = "lartrig-data"};
    m->curve = cfg->curve;
    int tcp = cfg->tcp;
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
        int64_t max_peers = cfg->max_peers;
        rc = m->curve ? lt_zsec_read_key_file(cfg->module_secret_key_file, secret, err, errlen) : 0;
        if (!rc)
            rc = lt_zap_start_cells(zctx, m->curve ? cfg->cell_keys_file : NULL, watch, 2,
                                    max_peers, &m->zap, err, errlen);
        if (rc) goto fail;
        if (m->curve) {
            sec.server_secret_key = secret;
            sec.allowed_keys_file = cfg->cell_keys_file;
            LT_INFO("data sockets: CURVE, cells allowed by %s, at most %lld connections",
                    cfg->cell_keys_file, (long long)max_peers);
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
    rc = trigd_record_sink_recwriter(&m->cfg.writer, &m->cfg.readout.layout, &m->sink, err, errlen);
    if (rc) goto fail;
    rc = trigd_readout_create(&cfg->readout, m->router, m->sink, &m->readout, err, errlen);
    if (rc) goto fail;
    rc = trigd_input_create(&cfg->input, &m->input, err, errlen);
    if (rc) goto fail;
    struct trigd_agg_callbacks cb = {agg_accept, agg_emit, m};
    rc = trigd_agg_create(&cfg->aggregator, &cb, lt_mono_ns(), &m->agg, err, errlen);
    if (rc) goto fail;
    trigd_agg_set_inhibited_observer(m->agg, agg_inhibited, m);
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
                                    peer_cell(m, msg), lt_mono_ns());
        } else {
            trigd_input_count_bad(m->input);
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
            trigd_readout_count_bad_reply(m->readout);
            continue;
        }
        if (zmq_msg_recv(msg, m->router, ZMQ_DONTWAIT) < 0) break;
        if (zmq_msg_more(msg)) {
            trigd_readout_count_bad_reply(m->readout);
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
    trigd_agg_retry_held(m->agg, 0, 0); /* decisions held for a busy readout/writer */
    trigd_module_ctl_service(&m->ctl, m->agg);
    uint64_t pre = m->cfg.aggregator.pre_ticks, from = trigd_agg_undecided_from(m->agg);
    from = from > pre ? from - pre : 0;
    uint64_t req = trigd_readout_requesting_from(m->readout);
    atomic_store(&m->ring_needed_from, req < from ? req : from);
    if (now - m->last_snapshot_ns > 100000000ULL) {
        publish(m);
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
        atomic_fetch_add_explicit(&m->loops, 1, memory_order_relaxed);
        pump(m, &msg, &id);
        housekeeping(m, lt_mono_ns());
    }
    /* Drain: keep taking messages until the sockets stay quiet, then decide the rest. */
    uint64_t quiet_since = lt_mono_ns();
    uint64_t drain_end = quiet_since + DRAIN_INPUT_MS * 1000000ULL;
    const uint64_t len = atomic_load(&m->stop_len_ns);
    const uint64_t t0 = len ? atomic_load(&m->stop_t0_ns) : quiet_since;
    if (len && t0 + len * STOP_INPUT_PCT / 100 < drain_end)
        drain_end = t0 + len * STOP_INPUT_PCT / 100;
    for (;;) {
        zmq_pollitem_t items[2] = {{.socket = m->pull, .events = ZMQ_POLLIN},
                                   {.socket = m->router, .events = ZMQ_POLLIN}};
        zmq_poll(items, 2, POLL_MS);
        atomic_fetch_add_explicit(&m->loops, 1, memory_order_relaxed);
        uint64_t now = lt_mono_ns();
        if (pump(m, &msg, &id)) quiet_since = now;
        housekeeping(m, now);
        if (now - quiet_since > DRAIN_QUIET_MS * 1000000ULL) break;
        if (now > drain_end) {
            LT_WARN("shutdown: the candidate and request sockets did not go quiet within %llu "
                    "ms; deciding with what has arrived",
                    (unsigned long long)((drain_end - t0) / 1000000ULL));
            break;
        }
    }
    trigd_agg_flush(m->agg, lt_mono_ns());
    /* Every issued decision is read out and handed to the writer; replies have at most
     * reply_timeout_ms, the writer's queue drains at disk speed. */
    uint64_t deadline =
        lt_mono_ns() + ((uint64_t)m->cfg.readout.reply_timeout_ms + DRAIN_WRITER_MS) * 1000000ULL;
    if (len && t0 + len * STOP_READOUT_PCT / 100 < deadline)
        deadline = t0 + len * STOP_READOUT_PCT / 100;
    /* With trigger.wait_when_busy the flush may have held decisions: they go out as the
     * readouts in flight complete. */
    while (trigd_agg_retry_held(m->agg, 1, 0) || trigd_readout_in_flight(m->readout)) {
        zmq_pollitem_t items[1] = {{.socket = m->router, .events = ZMQ_POLLIN}};
        zmq_poll(items, 1, POLL_MS);
        atomic_fetch_add_explicit(&m->loops, 1, memory_order_relaxed);
        pump(m, &msg, &id);
        uint64_t now = lt_mono_ns();
        trigd_readout_service(m->readout, now);
        if (now > deadline) {
            /* The writer is stuck (e.g. the disk stays full): stop waiting; decisions still
             * held are inhibited and the sink's stop fails what it still holds, all counted
             * and logged. */
            trigd_agg_retry_held(m->agg, 1, 1);
            LT_ERR("shutdown: %u readouts still unwritten after %llu ms; giving up on them",
                   trigd_readout_in_flight(m->readout),
                   (unsigned long long)((now - t0) / 1000000ULL));
            break;
        }
    }
    publish(m);
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

int trigd_module_drain(struct trigd_module *m, unsigned deadline_ms)
{
    const uint64_t t0 = lt_mono_ns(), len = (uint64_t)deadline_ms * 1000000ULL;
    atomic_store(&m->stop_t0_ns, t0);
    atomic_store(&m->stop_len_ns, len);
    atomic_store(&m->drain, 1);
    if (m->started) {
        pthread_join(m->thread, NULL);
        m->started = 0;
    }
    int rc = 0;
    if (m->sink) {
        /* The writer gets what is left of its share: it writes until then, then gives back
         * what it still holds (counted) and closes and renames its file. */
        unsigned wms = 30000;
        if (len) {
            uint64_t end = t0 + len * STOP_WRITER_PCT / 100, now = lt_mono_ns();
            wms = end > now ? (unsigned)((end - now) / 1000000ULL) : 0;
        }
        rc = m->sink->stop(m->sink, wms);
        m->sink = NULL;
    }
    trigd_readout_abandon(m->readout);
    publish(m); /* what the abandon counted */
    uint64_t failed = m->pub.readout.records_failed;
    if (failed) LT_ERR("%llu records could not be written", (unsigned long long)failed);
    return rc ? rc : (failed ? LT_EIO : 0);
}

void trigd_module_destroy(struct trigd_module *m)
{
    if (!m) return;
    if (m->started) trigd_module_drain(m, 0);
    if (m->sink) m->sink->stop(m->sink, 30000);
    trigd_readout_destroy(m->readout);
    trigd_input_destroy(m->input);
    trigd_agg_destroy(m->agg);
    if (m->pull) zmq_close(m->pull);
    if (m->router) zmq_close(m->router);
    lt_zap_stop(m->zap); /* after the sockets it served */
    trigd_module_ctl_destroy(&m->ctl);
    pthread_mutex_destroy(&m->pub_lock);
    free(m);
}

struct trigd_module_ctl *trigd_module_ctl(struct trigd_module *m)
{
    return &m->ctl;
}
