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
#include "status_alarms.h"

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
    /* Watchdog (operator thread only): WatchdogSec, the last WATCHDOG=1, and the last time a
     * gap between two pings came near WatchdogSec. */
    double wd_timeout_s, wd_last_ping, wd_late_at, wd_late_gap;
    json_t *alarms; /* the alarms of the last published document: events are the changes */
};

/* A WATCHDOG=1 gap above this share of WatchdogSec raises watchdog_near_expiry (pings go out at
 * half of it, so a healthy gap is 0.5 plus one poll period); the alarm stays up for a minute. */
#define WD_NEAR_SHARE 0.7
#define WD_ALARM_HOLD 60.0

/* The watchdog's state in the document, and its alarm. */
static void add_watchdog(struct lt_operator *op, json_t *st, double t)
{
    if (op->wd_timeout_s <= 0 || op->wd_last_ping <= 0) return;
    double age = t - op->wd_last_ping;
    if (age > WD_NEAR_SHARE * op->wd_timeout_s && age > op->wd_late_gap) {
        op->wd_late_at = t; /* the current wait itself (the thread was held up until now) */
        op->wd_late_gap = age;
    }
    int recent = op->wd_late_at > 0 && t - op->wd_late_at <= WD_ALARM_HOLD;
    if (!recent) op->wd_late_gap = 0;
    json_object_set_new(st, "watchdog",
                        json_pack("{s:f, s:f, s:f}", "timeout_s", op->wd_timeout_s,
                                  "last_ping_age_s", age, "longest_gap_s",
                                  recent ? op->wd_late_gap : 0.0));
    if (recent) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the operator thread went %.1f s without a watchdog ping (WatchdogSec %.0f s): "
                 "systemd restarts trigd at %.0f s",
                 op->wd_late_gap, op->wd_timeout_s, op->wd_timeout_s);
        trigd_alarm_add(st, "watchdog_near_expiry", "critical", -1, msg);
    }
}

static json_t *status_doc(struct lt_operator *op)
{
    json_t *st = op->cb.status ? op->cb.status(op->cb.user) : NULL;
    if (st) add_watchdog(op, st, lt_mono_s());
    return st;
}

static int same_alarm(json_t *a, json_t *b)
{
    const char *na = json_string_value(json_object_get(a, "alarm"));
    const char *nb = json_string_value(json_object_get(b, "alarm"));
    if (!na || !nb || strcmp(na, nb) != 0) return 0;
    json_t *ca = json_object_get(a, "cell"), *cb = json_object_get(b, "cell");
    return (!ca && !cb) || (ca && cb && json_equal(ca, cb));
}

static int listed(json_t *list, json_t *alarm)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) if (same_alarm(x, alarm)) return 1;
    return 0;
}

/* Every alarm of `from` not in `other` is an event: logged and published on topic "alarm". */
static void alarm_events(struct lt_operator *op, json_t *from, json_t *other, const char *event,
                         double uptime)
{
    size_t i;
    json_t *a;
    json_array_foreach(from, i, a)
    {
        if (listed(other, a)) continue;
        json_t *ev = json_deep_copy(a);
        if (!ev) continue;
        json_object_set_new(ev, "event", json_string(event));
        json_object_set_new(ev, "uptime_s", json_real(uptime));
        char *text = json_dumps(ev, JSON_COMPACT);
        if (text) {
            lt_monitor_publish_topic(op->mon, LT_MONITOR_TOPIC_ALARM, text);
            free(text);
        }
        const char *msg = json_string_value(json_object_get(a, "message"));
        if (!strcmp(event, "raised"))
            LT_WARN("alarm raised: %s", msg ? msg : "?");
        else
            LT_INFO("alarm cleared: %s", msg ? msg : "?");
        json_decref(ev);
    }
}

static json_t *dispatch(void *user, const char *cmd, json_t *request, char *err, size_t errlen)
{
    struct lt_operator *op = user;
    if (!strcmp(cmd, "status")) {
        json_t *st = status_doc(op);
        if (!st) snprintf(err, errlen, "status not available");
        return st;
    }
    if (op->cb.command) return op->cb.command(op->cb.user, cmd, request, err, errlen);
    snprintf(err, errlen, "unknown command '%s'", cmd);
    return NULL;
}

static void publish(struct lt_operator *op)
{
    json_t *st = status_doc(op);
    if (!st) return;
    json_t *alarms = json_object_get(st, "alarms");
    if (json_is_array(alarms)) {
        double up = json_number_value(json_object_get(st, "uptime_s"));
        alarm_events(op, alarms, op->alarms, "raised", up);
        alarm_events(op, op->alarms, alarms, "cleared", up);
        json_decref(op->alarms);
        op->alarms = json_incref(alarms);
    }
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
    op->wd_timeout_s = 2.0 * (double)wd_us * 1e-6; /* pings go out at half of WatchdogSec */
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
             * blocks, so its being alive says nothing about the data path. A withheld ping
             * shows as a late one (the gap since the last ping grows). */
            char why[200] = "";
            if (!op->cb.healthy || op->cb.healthy(op->cb.user, why, sizeof why)) {
                if (op->wd_last_ping > 0 &&
                    t - op->wd_last_ping > WD_NEAR_SHARE * op->wd_timeout_s &&
                    t - op->wd_last_ping > op->wd_late_gap) {
                    op->wd_late_at = t;
                    op->wd_late_gap = t - op->wd_last_ping;
                }
                lt_notify_watchdog();
                op->wd_last_ping = t;
            } else {
                LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "watchdog withheld: %s", why);
            }
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
    json_decref(op->alarms);
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
