/* Aggregator benchmark: N simulated cells (candidate generators, not kernels) feed one
 * aggregator over ZeroMQ, through the daemon's own input path (lib/formats/msg.h decode +
 * validation, candidate_gate.c) and aggregator (time-ordered merge, all trigger algorithms on).
 *
 * Reports the sustained candidate rate and two decision latencies:
 *   - "after the watermark": from the arrival of the message whose watermark made a decision
 *     final to the decision (the aggregator's own figure, what status shows);
 *   - "end to end": from the moment the generator sent the last cell's watermark that made the
 *     decision final, through ZeroMQ, to the decision.
 * Usage: bench_aggregator [--cells 150] [--seconds 5] [--batch 64] [--endpoint tcp://...]
 *                         [--rate CANDIDATES_PER_S]   (0 = as fast as the aggregator takes them;
 *                         the latency figures mean something only when paced below capacity)
 *                         [--block-us 6400]  data time per message: 64 candidates per 6.4 ms is
 *                         10k candidates/s per cell, the 39Ar rate of a cell
 *                         [--curve]  CURVE on the sockets as trigd has them over tcp: a key per
 *                         cell, the ZAP handler binding keys to cells, each message's cell checked
 *                         against its peer's User-Id (docs/security.md) */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "aggregator.h"
#include "candidate_gate.h"
#include "config.h"
#include "config_slices.h"
#include "latency_hist.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "msg.h"
#include "socket_security.h"
#include "ticks.h"

#define T0   (1ULL << 30)
#define RING 65536U

static struct {
    uint32_t cells;
    double seconds;
    uint32_t batch;
    char endpoint[256];
    double rate;     /* candidates/s the generator offers; 0 = as fast as it is taken */
    double block_us; /* data time one message of a cell covers */
    int curve;
} opt = {150, 5.0, 64, "tcp://127.0.0.1:5599", 0, 6400.0, 0};
static char server_pub[41], server_sec[41];
static char (*cell_pub)[41], (*cell_sec)[41];
static uint64_t BLOCK_TICKS;

static _Atomic uint64_t sent_ns[RING]; /* per block: when its last watermark went out */
static _Atomic int gen_done;
static _Atomic uint64_t gen_cands, gen_blocks;
static void *zctx;
static struct trigd_config cfg;
static struct trigd_hist e2e;
static uint64_t decisions, big_total;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void *generator(void *arg)
{
    (void)arg;
    void **push = calloc(opt.cells, sizeof *push);
    int hwm = 1000;
    for (uint32_t c = 0; c < opt.cells; c++) {
        push[c] = zmq_socket(zctx, ZMQ_PUSH);
        zmq_setsockopt(push[c], ZMQ_SNDHWM, &hwm, sizeof hwm);
        if (opt.curve) lt_zsec_client_keys(push[c], server_pub, cell_pub[c], cell_sec[c], NULL, 0);
        zmq_connect(push[c], opt.endpoint);
    }
    /* Let 150 tcp connections come up before the clock starts, or the first blocks queue
     * behind the handshakes and every later latency carries that backlog. */
    struct timespec settle = {1, 0};
    nanosleep(&settle, NULL);
    struct lt_candidate *cands = calloc(opt.batch, sizeof *cands);
    size_t cap = lt_msg_candidates_size(opt.batch);
    uint8_t *buf = malloc(cap);
    uint64_t *seq = calloc(opt.cells, sizeof *seq), rng = 12345;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* pacing: absolute sleeps from here */
    const double t0_s = lt_mono_s();
    for (uint64_t b = 0;; b++) {
        uint64_t begin = T0 + b * BLOCK_TICKS, end = begin + BLOCK_TICKS;
        for (uint32_t c = 0; c < opt.cells; c++) {
            /* Sorted times without sorting: random gaps that fill the block on average. */
            uint64_t t = begin, mean_gap = (BLOCK_TICKS - 700) / opt.batch;
            for (uint32_t i = 0; i < opt.batch; i++) {
                uint64_t r = rng_next(&rng);
                struct lt_candidate *x = &cands[i];
                t += r % (2 * mean_gap);
                if (t > end - 700) t = end - 700;
                x->time_start = t;
                x->time_end = x->time_start + 640;
                x->time_peak = x->time_start + 320;
                x->cell = c;
                x->channel_start = (uint16_t)((r >> 20) % 40);
                x->channel_end = (uint16_t)(x->channel_start + 3);
                /* 39Ar-like blips, and rarely a big deposit (about one per 50k candidates). */
                x->peak_score = (r >> 40) % 50000 == 0 ? 5000 : 100 + (int32_t)((r >> 32) % 200);
                x->adc_sum = 50 + (uint32_t)((r >> 8) % 400);
                x->n_pixels = 4;
                x->algorithm = 0;
            }
            size_t len;
            /* The last cell's message carries the watermark that completes this block. */
            if (c == opt.cells - 1) {
                atomic_store(&sent_ns[b % RING], lt_mono_ns());
                atomic_store(&gen_blocks, b + 1);
            }
            if (lt_msg_encode_candidates(buf, cap, c, ++seq[c], end, cands, opt.batch, &len) == 0)
                zmq_send(push[c], buf, len, 0); /* blocking: the generator runs at what is taken */
        }
        if (opt.rate > 0) {
            /* Paced: block b is due at t0 + (b + 1) x cells x batch / rate. */
            double due_s = (double)(b + 1) * opt.cells * opt.batch / opt.rate;
            struct timespec due = t0;
            due.tv_sec += (time_t)due_s;
            due.tv_nsec += (long)((due_s - (double)(time_t)due_s) * 1e9);
            if (due.tv_nsec >= 1000000000L) {
                due.tv_sec++;
                due.tv_nsec -= 1000000000L;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
        }
        atomic_fetch_add(&gen_cands, (uint64_t)opt.cells * opt.batch);
        if (lt_mono_s() - t0_s > opt.seconds) break;
    }
    atomic_store(&gen_done, 1);
    int linger = -1; /* deliver everything before closing */
    for (uint32_t c = 0; c < opt.cells; c++) {
        zmq_setsockopt(push[c], ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(push[c]);
    }
    free(push);
    free(cands);
    free(buf);
    free(seq);
    return NULL;
}

/* The block whose watermark first made a decision at time t final. */
static uint64_t deciding_block(uint64_t t, uint64_t reach)
{
    uint64_t need = t + reach + cfg.trigger.watermark_slack_ticks; /* horizon must pass this */
    return (need - T0) / BLOCK_TICKS; /* block b ends at T0 + (b+1) * BLOCK > need */
}

static uint64_t reach_ticks;

static void on_emit(void *user, const struct trigd_decision *d)
{
    (void)user;
    decisions++;
    if (d->algorithms & (1U << LT_ALGO_SINGLE)) big_total++;
    uint64_t b = deciding_block(d->time, reach_ticks);
    if (b < atomic_load(&gen_blocks) && atomic_load(&gen_blocks) - b < RING) {
        uint64_t s = atomic_load(&sent_ns[b % RING]);
        if (s && d->decided_ns > s) trigd_hist_add(&e2e, d->decided_ns - s);
    }
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"cells", required_argument, NULL, 'c'}, {"seconds", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'}, {"endpoint", required_argument, NULL, 'e'},
        {"rate", required_argument, NULL, 'r'},  {"block-us", required_argument, NULL, 'k'},
        {"curve", no_argument, NULL, 'C'},       {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (o == 'c')
            opt.cells = (uint32_t)atoi(optarg);
        else if (o == 's')
            opt.seconds = atof(optarg);
        else if (o == 'b')
            opt.batch = (uint32_t)atoi(optarg);
        else if (o == 'e')
            snprintf(opt.endpoint, sizeof opt.endpoint, "%s", optarg);
        else if (o == 'r')
            opt.rate = atof(optarg);
        else if (o == 'k')
            opt.block_us = atof(optarg);
        else if (o == 'C')
            opt.curve = 1;
        else
            return 2;
    }
    if (!opt.cells || opt.cells > LT_MAX_CELLS || !opt.batch || opt.batch > LT_MSG_MAX_CANDIDATES)
        return 2;
    BLOCK_TICKS = lt_seconds_to_ticks(opt.block_us * 1e-6);
    if (BLOCK_TICKS < 1000 + opt.batch) return 2;

    trigd_config_defaults(&cfg);
    cfg.n_cells = opt.cells;
    for (uint32_t c = 0; c < opt.cells; c++) cfg.cells[c].id = c;
    cfg.trigger.coincidence.enabled = 1;
    cfg.trigger.coincidence.min_cells = 2;
    cfg.trigger.coincidence.min_score = 500;
    cfg.trigger.single.enabled = 1;
    cfg.trigger.single.min_score = 2000;
    cfg.trigger.summed.enabled = 1;
    cfg.trigger.summed.window_ticks = lt_seconds_to_ticks(10e-6);
    cfg.trigger.summed.threshold = 1000000;
    cfg.trigger.periodic.enabled = 1;
    cfg.trigger.periodic.period_ticks = lt_seconds_to_ticks(3e-3);
    cfg.trigger.cell_timeout_ms = 60000;

    char err[256];
    struct trigd_agg_callbacks cb = {NULL, on_emit, NULL};
    struct trigd_agg *agg;
    struct trigd_input *in;
    static struct lt_aggregator_config ac;
    static struct trigd_input_config ic;
    trigd_config_aggregator(&cfg, &ac);
    trigd_config_input(&cfg, &ic);
    if (trigd_agg_create(&ac, &cb, lt_mono_ns(), &agg, err, sizeof err) ||
        trigd_input_create(&ic, &in, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    reach_ticks = cfg.readout.post_ticks + cfg.trigger.summed.window_ticks;

    zctx = zmq_ctx_new();
    void *pull = zmq_socket(zctx, ZMQ_PULL);
    int hwm = 100000;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    struct lt_zap *zap = NULL;
    char list[] = "/tmp/bench_aggregator_cells_XXXXXX";
    if (opt.curve) {
        /* Keys as trigctl keygen makes them; the allow-list binds each to its cell. */
        cell_pub = calloc(opt.cells, sizeof *cell_pub);
        cell_sec = calloc(opt.cells, sizeof *cell_sec);
        int fd = mkstemp(list);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!cell_pub || !cell_sec || !f || zmq_curve_keypair(server_pub, server_sec)) return 1;
        for (uint32_t c = 0; c < opt.cells; c++) {
            if (zmq_curve_keypair(cell_pub[c], cell_sec[c])) return 1;
            fprintf(f, "%s %u\n", cell_pub[c], c);
        }
        fclose(f);
        int one = 1;
        if (lt_zap_start_cells(zctx, list, NULL, 0, 0, &zap, err, sizeof err) ||
            zmq_setsockopt(pull, ZMQ_CURVE_SERVER, &one, sizeof one) ||
            zmq_setsockopt(pull, ZMQ_CURVE_SECRETKEY, server_sec, 40) ||
            zmq_setsockopt(pull, ZMQ_ZAP_DOMAIN, "lartrig-data", 12)) {
            fprintf(stderr, "CURVE: %s\n", err);
            return 1;
        }
    }
    if (zmq_bind(pull, opt.endpoint)) {
        fprintf(stderr, "bind %s: %s\n", opt.endpoint, zmq_strerror(zmq_errno()));
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, generator, NULL);

    zmq_msg_t m;
    zmq_msg_init(&m);
    uint64_t t_start = 0, t_last = 0, msgs = 0;
    for (;;) {
        zmq_pollitem_t pi = {.socket = pull, .events = ZMQ_POLLIN};
        if (zmq_poll(&pi, 1, 200) <= 0) {
            struct trigd_agg_stats cur;
            trigd_agg_get_stats(agg, &cur);
            uint64_t taken = cur.candidates + cur.late + cur.overflow;
            if (atomic_load(&gen_done) && taken >= atomic_load(&gen_cands)) break;
            continue;
        }
        while (zmq_msg_recv(&m, pull, ZMQ_DONTWAIT) >= 0) {
            uint64_t now = lt_mono_ns();
            if (!t_start) t_start = now;
            int32_t peer = TRIGD_PEER_ANY;
            if (opt.curve) {
                /* As the module does: the cell the peer's key is bound to. */
                const char *u = zmq_msg_gets(&m, "User-Id");
                peer = u && !strncmp(u, "cell-", 5) ? (int32_t)atoi(u + 5) : -2;
            }
            trigd_input_handle_peer(in, agg, zmq_msg_data(&m), zmq_msg_size(&m), peer, now);
            t_last = lt_mono_ns();
            msgs++;
        }
    }
    pthread_join(th, NULL);
    zmq_msg_close(&m);

    struct trigd_agg_stats as;
    trigd_agg_get_stats(agg, &as);
    double secs = (double)(t_last - t_start) * 1e-9;
    printf("bench_aggregator: %u cells, %u candidates per %.0f us message, %s%s, offered %s\n",
           opt.cells, opt.batch, opt.block_us, opt.endpoint, opt.curve ? " with CURVE" : "",
           opt.rate > 0 ? "paced" : "as fast as taken");
    printf("  candidates: %llu generated, %llu merged in %.2f s = %.3g candidates/s "
           "(%llu messages, %.3g msg/s)\n",
           (unsigned long long)atomic_load(&gen_cands), (unsigned long long)as.candidates, secs,
           (double)as.candidates / secs, (unsigned long long)msgs, (double)msgs / secs);
    struct trigd_input_stats st;
    trigd_input_snapshot(in, &st);
    printf("  dropped: %llu bad, %llu forged, %llu out of order, %llu late, %llu overflow\n",
           (unsigned long long)st.msgs_bad, (unsigned long long)st.msgs_forged,
           (unsigned long long)st.msgs_out_of_order, (unsigned long long)as.late,
           (unsigned long long)as.overflow);
    printf("  decisions: %llu (single %llu, coincidence %llu, summed %llu, periodic %llu), "
           "%llu proposals merged\n",
           (unsigned long long)as.decisions, (unsigned long long)as.triggers[LT_ALGO_SINGLE],
           (unsigned long long)as.triggers[LT_ALGO_COINCIDENCE],
           (unsigned long long)as.triggers[LT_ALGO_SUMMED],
           (unsigned long long)as.triggers[LT_ALGO_PERIODIC], (unsigned long long)as.merged);
    printf("  latency after the watermark: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
           as.latency_p50_ns / 1e6, as.latency_p99_ns / 1e6, as.latency_max_ns / 1e6);
    printf("  latency end to end (deciding watermark sent -> decision): p50 %.3f ms, p99 %.3f "
           "ms, max %.3f ms (%llu decisions)\n",
           trigd_hist_quantile(&e2e, 0.5) / 1e6, trigd_hist_quantile(&e2e, 0.99) / 1e6,
           e2e.max_ns / 1e6, (unsigned long long)e2e.n);
    zmq_close(pull);
    lt_zap_stop(zap);
    if (opt.curve) unlink(list);
    zmq_ctx_term(zctx);
    trigd_input_destroy(in);
    trigd_agg_destroy(agg);
    return as.late || as.overflow ? 1 : 0;
}
