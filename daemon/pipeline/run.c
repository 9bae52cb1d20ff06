/* trigd's main loop. Signals are taken with signalfd on the main thread (blocked everywhere
 * else before any thread starts), so no work ever happens in a signal handler. */
#include "lt_clock.h"
#include "run.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cell.h"
#include "log.h"
#include "lt_error.h"
#include "module.h"
#include "operator_callbacks.h"
#include "ticks.h"

#define L(x) ((unsigned long long)atomic_load(&(x)))

static void log_status(const struct trigd_config *cfg, struct trigd_cells *cells,
                       struct trigd_module *mod)
{
    char line[900];
    if (cells) {
        for (uint32_t i = 0; i < trigd_cells_count(cells); i++) {
            const struct trigd_cell_status *s = trigd_cells_status(cells, i);
            snprintf(line, sizeof line,
                     "cell %u: %llu frames, data %.4f s, watermark %.4f s, lag %llu us, ring "
                     "%llu/%llu, %llu candidates, %llu msgs (%llu dropped), %llu requests "
                     "(%llu not found, %llu incomplete), %llu input dropped, %llu errors",
                     s->id, L(s->frames), lt_ticks_to_seconds(atomic_load(&s->data_time)),
                     lt_ticks_to_seconds(atomic_load(&s->watermark)), L(s->lag_us), L(s->ring_fill),
                     L(s->ring_capacity), L(s->candidates), L(s->msgs_sent), L(s->msgs_dropped),
                     L(s->requests), L(s->replies_not_found), L(s->replies_incomplete),
                     L(s->input_dropped), L(s->source_errors));
            LT_INFO("%s", line);
        }
    }
    if (mod) {
        const struct trigd_module_status *m = trigd_module_status(mod);
        snprintf(
            line, sizeof line,
            "module: %llu msgs (%llu bad, %llu out of order, %llu lost), %llu candidates "
            "(%llu late), horizon %.4f s, %llu triggers (single %llu, coincidence %llu, "
            "summed %llu, periodic %llu, random %llu), %llu inhibited, %llu cells missing, "
            "latency p50 %.3f ms p99 %.3f ms, records %llu built %llu written %llu failed, "
            "%llu fragments not found; refused: %llu forged, %llu clock, %llu sequence, "
            "%llu bad replies, %llu peers",
            L(m->msgs), L(m->msgs_bad), L(m->msgs_out_of_order), L(m->msgs_lost),
            L(m->agg_candidates), L(m->agg_late), lt_ticks_to_seconds(atomic_load(&m->agg_horizon)),
            L(m->agg_decisions), L(m->agg_triggers[TRIGD_ALGO_SINGLE]),
            L(m->agg_triggers[TRIGD_ALGO_COINCIDENCE]), L(m->agg_triggers[TRIGD_ALGO_SUMMED]),
            L(m->agg_triggers[TRIGD_ALGO_PERIODIC]), L(m->agg_triggers[TRIGD_ALGO_RANDOM]),
            L(m->agg_inhibited), L(m->agg_missing_now), atomic_load(&m->agg_latency_p50_ns) / 1e6,
            atomic_load(&m->agg_latency_p99_ns) / 1e6, L(m->records_built), L(m->records_written),
            L(m->records_failed), L(m->fragments_not_found), L(m->msgs_forged),
            L(m->msgs_clock_fault), L(m->msgs_seq_refused), L(m->replies_bad), L(m->peers_refused));
        LT_INFO("%s", line);
    }
    (void)cfg;
}

int trigd_run(const struct trigd_config *cfg, const uint8_t *sel, double status_interval_s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP); /* reload (operator_callbacks.c) */
    /* Blocked before any thread exists, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        LT_ERR("signalfd: %s", strerror(errno));
        return 1;
    }
    char err[1024];
    int rc = 0, status = 0;
    void *zctx = zmq_ctx_new();
    struct trigd_module *mod = NULL;
    struct trigd_cells *cells = NULL;
    struct trigd_operator *op = NULL;
    int has_module = cfg->role != TRIGD_ROLE_CELL, has_cells = cfg->role != TRIGD_ROLE_MODULE;

    /* Cells first: a file source reads its run file now, before the record writer (the one
     * HDF5 user while the daemon runs) starts. */
    if (has_cells && (rc = trigd_cells_create(cfg, sel, zctx, &cells, err, sizeof err)) != 0)
        goto fail;
    if (has_module && (rc = trigd_module_create(cfg, zctx, &mod, err, sizeof err)) != 0) goto fail;
    if (mod && (rc = trigd_module_start(mod, err, sizeof err)) != 0) goto fail;
    if (cells && (rc = trigd_cells_start(cells, err, sizeof err)) != 0) goto fail;
    if ((rc = trigd_operator_start(cfg, cells, mod, &op, err, sizeof err)) != 0) goto fail;
    trigd_operator_ready(op);
    LT_INFO("running: role %s, run %u, %u cells here (%u configured), config %s",
            trigd_role_name(cfg->role), cfg->run_number, cells ? trigd_cells_count(cells) : 0,
            cfg->n_cells, cfg->source_name);

    uint64_t next_status = lt_mono_ms() + (uint64_t)(status_interval_s * 1000.0);
    for (;;) {
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        poll(&p, 1, 100);
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (si.ssi_signo == SIGHUP) {
                trigd_operator_reload_signal(op);
                continue;
            }
            LT_INFO("signal %u (%s): stopping", si.ssi_signo, strsignal((int)si.ssi_signo));
            break;
        }
        if (cells && trigd_cells_sources_done(cells)) {
            LT_INFO("all sources of this process have finished");
            break;
        }
        if (status_interval_s > 0 && lt_mono_ms() >= next_status) {
            log_status(cfg, cells, mod);
            next_status = lt_mono_ms() + (uint64_t)(status_interval_s * 1000.0);
        }
    }

    /* Orderly end: sources first (their final heartbeats carry the last watermarks), then the
     * module decides the rest and writes every record; the request threads keep answering
     * until then. */
    trigd_operator_stopping(op);
    if (cells) trigd_cells_stop_sources(cells);
    if (mod) {
        rc = trigd_module_drain(mod);
        if (rc) status = 1;
    } else if (cells) {
        /* A cell process: the module may still ask for the last windows. */
        unsigned ms = cfg->readout.reply_timeout_ms + 500;
        LT_INFO("serving data requests for %u ms more", ms);
        uint64_t until = lt_mono_ms() + ms;
        while (lt_mono_ms() < until) {
            struct pollfd p = {.fd = sfd, .events = POLLIN};
            if (poll(&p, 1, 50) > 0) break; /* a second signal: leave now */
        }
    }
    log_status(cfg, cells, mod);
    trigd_operator_stop(op);
    trigd_cells_destroy(cells);
    trigd_module_destroy(mod);
    zmq_ctx_term(zctx);
    close(sfd);
    LT_INFO("stopped (exit %d)", status);
    return status;
fail:
    LT_ERR("%s", err);
    trigd_operator_stop(op);
    trigd_cells_destroy(cells);
    trigd_module_destroy(mod);
    zmq_ctx_term(zctx);
    close(sfd);
    return 1;
}
