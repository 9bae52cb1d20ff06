/* The operator service of a daemon: one thread that serves the control socket, publishes the
 * status document on the monitor socket once a second, and talks to systemd (READY, STATUS with
 * rates, WATCHDOG at half of WatchdogSec). The daemon supplies callbacks; this module owns the
 * sockets, the ZAP handler for tcp endpoints and the timing.
 *
 * The callbacks run on the operator thread: they must only read counters (atomics) and post
 * requests to the pipeline (e.g. set a flag), never block on the hot path. */
#ifndef LARTRIG_OPERATOR_H
#define LARTRIG_OPERATOR_H

#include <jansson.h>
#include <stddef.h>

#include "socket_security.h"

struct lt_operator_callbacks {
    void *user;
    /* The status document (see docs/monitoring.md); NULL if it cannot be built right now. */
    json_t *(*status)(void *user);
    /* One-line summary for systemd's STATUS= (e.g. "4 cells, 12.0 cand/s, 3 triggers"). */
    void (*summary)(void *user, char *buf, size_t len);
    /* Commands other than "status"; return a reply object or NULL + err (see lib/protocol/ctl.h).
     */
    json_t *(*command)(void *user, const char *cmd, json_t *request, char *err, size_t errlen);
    /* Called at each watchdog tick: 1 when the daemon's work makes progress, else 0 with the
     * reason in why; WATCHDOG=1 is withheld then, so systemd sees a stall. NULL = always. */
    int (*healthy)(void *user, char *why, size_t len);
};

struct lt_operator_config {
    const char *control_endpoint; /* NULL: ipc://<runtime dir>/control */
    const char *monitor_endpoint; /* NULL: ipc://<runtime dir>/monitor */
    struct lt_zsec_config security;
    double publish_interval_s; /* default 1.0 */
};

struct lt_operator;

/* Binds both sockets and starts the thread; fails (with the endpoint in err) if either cannot be
 * bound, e.g. a tcp endpoint without CURVE keys. */
int lt_operator_start(const struct lt_operator_config *cfg, const struct lt_operator_callbacks *cb,
                      struct lt_operator **out, char *err, size_t errlen);
/* Tell systemd we are ready (after the pipeline is up). */
void lt_operator_ready(struct lt_operator *op);
void lt_operator_stop(struct lt_operator *op);
/* The endpoints actually bound (useful with defaults). */
const char *lt_operator_control_endpoint(const struct lt_operator *op);
const char *lt_operator_monitor_endpoint(const struct lt_operator *op);

#endif
