/* trigd's main loop. Signals are taken with signalfd on the main thread (blocked everywhere
 * else before any thread starts), so no work ever happens in a signal handler. */
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

#include "config.h"
#include "log.h"
#include "lt_clock.h"
#include "pipeline.h"

int trigd_run(const struct lt_pipeline_config *pc, const uint8_t *sel, double status_interval_s)
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
    int status = 0;
    const struct trigd_config *cfg = &pc->c;
    struct lt_pipeline *p = NULL;
    struct lt_pipeline_options opt = {.cell_select = sel, .with_operator = 1};
    if (lt_pipeline_create(pc, &opt, &p, err, sizeof err) != 0 ||
        lt_pipeline_start(p, err, sizeof err) != 0) {
        LT_ERR("%s", err);
        lt_pipeline_stop(p);
        close(sfd);
        return 1;
    }
    struct lt_pipeline_stats st;
    lt_pipeline_stats(p, &st);
    LT_INFO("running: role %s, run %u, %u cells here (%u configured), config %s",
            trigd_role_name(cfg->role), cfg->run_number, st.cells, cfg->n_cells, cfg->source_name);

    uint64_t next_status = lt_mono_ms() + (uint64_t)(status_interval_s * 1000.0);
    unsigned deadline_ms = 0; /* a signal bounds the stop; sources that finished do not */
    for (;;) {
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        poll(&pfd, 1, 100);
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (si.ssi_signo == SIGHUP) {
                lt_pipeline_reload_signal(p);
                continue;
            }
            deadline_ms = cfg->stop_deadline_ms;
            LT_INFO("signal %u (%s): stopping within %u ms", si.ssi_signo,
                    strsignal((int)si.ssi_signo), deadline_ms);
            break;
        }
        if (lt_pipeline_sources_done(p)) {
            LT_INFO("all sources of this process have finished");
            break;
        }
        if (status_interval_s > 0 && lt_mono_ms() >= next_status) {
            lt_pipeline_log_status(p);
            next_status = lt_mono_ms() + (uint64_t)(status_interval_s * 1000.0);
        }
    }

    /* Orderly end: the pipeline drains (sources stop, the module decides the rest and writes
     * every record). */
    const uint64_t stop_t0 = lt_mono_ms();
    if (lt_pipeline_drain_within(p, deadline_ms) != 0) status = 1;
    unsigned linger = lt_pipeline_linger_ms(p);
    if (deadline_ms) {
        /* A cell serves the module's last requests only for what is left of the deadline (the
         * module, stopped after its cells, asks within its own). */
        uint64_t used = lt_mono_ms() - stop_t0, left = used < deadline_ms ? deadline_ms - used : 0;
        left = left * 9 / 10;
        if (linger > left) linger = (unsigned)left;
    }
    if (linger) {
        /* A cell process: the module may still ask for the last windows. */
        LT_INFO("serving data requests for %u ms more", linger);
        uint64_t until = lt_mono_ms() + linger;
        while (lt_mono_ms() < until) {
            struct pollfd pfd = {.fd = sfd, .events = POLLIN};
            if (poll(&pfd, 1, 50) > 0) break; /* a second signal: leave now */
        }
    }
    lt_pipeline_log_status(p);
    lt_pipeline_stop(p);
    close(sfd);
    LT_INFO("stopped (exit %d)", status);
    return status;
}
