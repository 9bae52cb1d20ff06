#include "lt_clock.h"
#include "operator.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ctl.h"
#include "log.h"
#include "lt_error.h"
#include "sdnotify.h"

struct lt_operator {
    void *zctx;
    struct lt_zap *zap;
    struct lt_ctl_server *ctl;
    struct lt_monitor *mon;
    struct lt_operator_callbacks cb;
    double publish_interval_s;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool ready;
    char control_ep[512];
    char monitor_ep[512];
    uint64_t published;
};

static json_t *dispatch(void *user, const char *cmd, json_t *request, char *err, size_t errlen)
{
    struct lt_operator *op = user;
    if (!strcmp(cmd, "status")) {
        json_t *st = op->cb.status ? op->cb.status(op->cb.user) : NULL;
        if (!st) snprintf(err, errlen, "status not available");
        return st;
    }
    if (op->cb.command) return op->cb.command(op->cb.user, cmd, request, err, errlen);
    snprintf(err, errlen, "unknown command '%s'", cmd);
    return NULL;
}

static void publish(struct lt_operator *op)
{
    json_t *st = op->cb.status ? op->cb.status(op->cb.user) : NULL;
    if (!st) return;
    char *text = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    if (text) {
        lt_monitor_publish(op->mon, text);
        op->published++;
        free(text);
    }
}

static void *operator_thread(void *arg)
{
    struct lt_operator *op = arg;
    zmq_pollitem_t item = {.socket = lt_ctl_server_socket(op->ctl), .events = ZMQ_POLLIN};
    uint64_t wd_us = lt_notify_watchdog_interval_us();
    double next_publish = lt_mono_s(), next_wd = lt_mono_s(), next_summary = lt_mono_s();
    while (!atomic_load(&op->stop)) {
        if (zmq_poll(&item, 1, 50) > 0) lt_ctl_server_serve(op->ctl);
        double t = lt_mono_s();
        if (t >= next_publish) {
            publish(op);
            next_publish = t + op->publish_interval_s;
        }
        if (wd_us && t >= next_wd) {
            /* Only while the data threads make progress: the operator thread itself never
             * blocks, so its being alive says nothing about the data path. */
            char why[200] = "";
            if (!op->cb.healthy || op->cb.healthy(op->cb.user, why, sizeof why))
                lt_notify_watchdog();
            else
                LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "watchdog withheld: %s", why);
            next_wd = t + (double)wd_us * 1e-6;
        }
        if (atomic_load(&op->ready) && op->cb.summary && t >= next_summary) {
            char buf[256] = "";
            op->cb.summary(op->cb.user, buf, sizeof buf);
            lt_notify_status("%s", buf);
            next_summary = t + 5.0;
        }
    }
    return NULL;
}

static int default_endpoint(char *buf, size_t len, const char *given, const char *name)
{
    if (given) {
        snprintf(buf, len, "%s", given);
        return 0;
    }
    char dir[400];
    int rc = lt_runtime_dir(dir, sizeof dir);
    if (rc) return rc;
    snprintf(buf, len, "ipc://%s/%s", dir, name);
    /* A stale socket file from a killed daemon would make bind fail. */
    unlink(buf + 6);
    return 0;
}

int lt_operator_start(const struct lt_operator_config *cfg, const struct lt_operator_callbacks *cb,
                      struct lt_operator **out, char *err, size_t errlen)
{
    struct lt_operator *op = calloc(1, sizeof *op);
    if (!op) return LT_ENOMEM;
    op->cb = *cb;
    op->publish_interval_s = cfg->publish_interval_s > 0 ? cfg->publish_interval_s : 1.0;
    int rc =
        default_endpoint(op->control_ep, sizeof op->control_ep, cfg->control_endpoint, "control");
    if (!rc)
        rc = default_endpoint(op->monitor_ep, sizeof op->monitor_ep, cfg->monitor_endpoint,
                              "monitor");
    if (rc) {
        lt_seterr(err, errlen, "cannot create the runtime directory for the operator sockets");
        free(op);
        return rc;
    }
    op->zctx = zmq_ctx_new();
    int uses_tcp = !strncmp(op->control_ep, "tcp://", 6) || !strncmp(op->monitor_ep, "tcp://", 6);
    if (uses_tcp && cfg->security.allowed_keys_file) {
        rc = lt_zap_start(op->zctx, cfg->security.allowed_keys_file, &op->zap, err, errlen);
        if (rc) goto fail;
    }
    rc = lt_ctl_server_open(op->zctx, op->control_ep, &cfg->security, dispatch, op, &op->ctl, err,
                            errlen);
    if (rc) goto fail;
    rc = lt_monitor_open(op->zctx, op->monitor_ep, &cfg->security, &op->mon, err, errlen);
    if (rc) goto fail;
    if (pthread_create(&op->thread, NULL, operator_thread, op) != 0) {
        rc = LT_ENOMEM;
        goto fail;
    }
    LT_INFO("operator: control %s, monitor %s", op->control_ep, op->monitor_ep);
    *out = op;
    return 0;
fail:
    lt_ctl_server_close(op->ctl);
    lt_monitor_close(op->mon);
    lt_zap_stop(op->zap);
    zmq_ctx_term(op->zctx);
    free(op);
    return rc;
}

void lt_operator_ready(struct lt_operator *op)
{
    char buf[256] = "running";
    if (op->cb.summary) op->cb.summary(op->cb.user, buf, sizeof buf);
    lt_notify_ready(buf);
    atomic_store(&op->ready, 1);
}

void lt_operator_stop(struct lt_operator *op)
{
    if (!op) return;
    atomic_store(&op->stop, 1);
    pthread_join(op->thread, NULL);
    lt_ctl_server_close(op->ctl);
    lt_monitor_close(op->mon);
    lt_zap_stop(op->zap);
    zmq_ctx_term(op->zctx);
    if (!strncmp(op->control_ep, "ipc://", 6)) unlink(op->control_ep + 6);
    if (!strncmp(op->monitor_ep, "ipc://", 6)) unlink(op->monitor_ep + 6);
    free(op);
}

const char *lt_operator_control_endpoint(const struct lt_operator *op)
{
    return op->control_ep;
}
const char *lt_operator_monitor_endpoint(const struct lt_operator *op)
{
    return op->monitor_ep;
}
