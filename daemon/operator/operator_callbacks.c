/* trigd's operator interface: see operator_callbacks.h. Callbacks run on the operator thread; they
 * read atomics and post requests to the module thread (module_mailbox.h), never touch the pipeline
 * directly. A SIGHUP arrives on the main thread; `reload` on the operator thread: a mutex keeps
 * the two from interleaving. */
#include "operator_callbacks.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config_reload.h"
#include "ctl.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "module_mailbox.h"
#include "operator.h"
#include "progress.h"
#include "sdnotify.h"
#include "status_json.h"
#include "socket_security.h"

#define CONFIG_TEXT_MAX (1U << 20) /* the digest covers at most this much of the file */

struct trigd_operator {
    const struct trigd_config *cfg;   /* what the pipeline was built from */
    struct trigd_live_config current; /* what reloads applied on top of cfg */
    struct trigd_cells *cells;
    struct trigd_module *mod;
    struct lt_operator *op;
    struct trigd_status_rates *rates;
    double started;
    pthread_mutex_t reload_lock;
    char digest[17 + 16];
    _Atomic int stopping;
    _Atomic uint64_t reloads, pauses, resumes, manual;
    struct trigd_progress progress; /* operator thread: watchdog progress between ticks */
    char secret[LT_Z85_KEY_LEN + 1];
    char control_ep[TRIGD_ENDPOINT_MAX + 512], monitor_ep[TRIGD_ENDPOINT_MAX + 512];
};

void trigd_config_digest(const char *text, size_t len, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis and prime */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The text the config came from: the file, or the embedded default. */
static int config_text_digest(const struct trigd_config *cfg, char *out, size_t outlen, char *err,
                              size_t errlen)
{
    char hex[17];
    if (!strcmp(cfg->source_name, "<embedded>")) {
        trigd_config_digest(trigd_default_config_text, strlen(trigd_default_config_text), hex);
    } else {
        FILE *f = fopen(cfg->source_name, "rb");
        if (!f) {
            lt_seterr(err, errlen, "%s: %s", cfg->source_name, strerror(errno));
            return LT_EIO;
        }
        char *buf = malloc(CONFIG_TEXT_MAX);
        size_t n = buf ? fread(buf, 1, CONFIG_TEXT_MAX, f) : 0;
        fclose(f);
        if (!buf) return LT_ENOMEM;
        trigd_config_digest(buf, n, hex);
        free(buf);
    }
    snprintf(out, outlen, "fnv1a64:%s", hex);
    return 0;
}

static const char *state_name(struct trigd_operator *o)
{
    if (atomic_load(&o->stopping)) return "stopping";
    if (o->mod && atomic_load(&trigd_module_ctl(o->mod)->paused)) return "paused";
    return "running";
}

static void fill_src(struct trigd_operator *o, struct trigd_status_src *src)
{
    src->cfg = o->cfg;
    src->cells = o->cells;
    src->mod = o->mod;
    src->state = state_name(o);
    src->uptime_s = lt_mono_s() - o->started;
    src->config_digest = o->digest;
}

static json_t *cb_status(void *user)
{
    struct trigd_operator *o = user;
    struct trigd_status_src src;
    pthread_mutex_lock(&o->reload_lock); /* the digest changes on reload */
    fill_src(o, &src);
    json_t *doc = trigd_status_json(&src, o->rates);
    if (doc) {
        json_t *ops = json_pack("{s:I, s:I, s:I, s:I}", "reloads", (json_int_t)o->reloads, "pauses",
                                (json_int_t)o->pauses, "resumes", (json_int_t)o->resumes,
                                "manual_triggers", (json_int_t)o->manual);
        json_t *thr = json_pack("{s:i, s:i, s:i, s:i, s:I, s:f}", "single_min_score",
                                o->current.trigger.single.min_score, "single_min_adc_sum",
                                (int)o->current.trigger.single.min_adc_sum, "coincidence_min_cells",
                                (int)o->current.trigger.coincidence.min_cells,
                                "coincidence_min_score", o->current.trigger.coincidence.min_score,
                                "summed_threshold", (json_int_t)o->current.trigger.summed.threshold,
                                "random_rate_hz", o->current.trigger.random.rate_hz);
        json_object_set_new(doc, "operator", ops);
        json_object_set_new(doc, "thresholds", thr);
        json_object_set_new(doc, "log_level", json_string(o->current.log_level));
    }
    pthread_mutex_unlock(&o->reload_lock);
    return doc;
}

/* The module's loop and every cell's data thread moved since the last watchdog tick. */
static int cb_healthy(void *user, char *why, size_t len)
{
    struct trigd_operator *o = user;
    if (atomic_load(&o->stopping)) return 1; /* threads wind down; systemd waits on the stop */
    uint64_t counts[TRIGD_PROGRESS_MAX];
    uint8_t finished[TRIGD_PROGRESS_MAX];
    uint32_t n = 0, stalled = 0;
    uint32_t ids[TRIGD_PROGRESS_MAX];
    if (o->mod) {
        counts[n] = trigd_module_loops(o->mod);
        finished[n++] = 0;
    }
    for (uint32_t i = 0; o->cells && i < trigd_cells_count(o->cells) && n < TRIGD_PROGRESS_MAX;
         i++) {
        struct trigd_cell_stats s;
        trigd_cells_snapshot(o->cells, i, &s);
        ids[n] = s.id;
        counts[n] = s.data_loops;
        finished[n++] = (uint8_t)s.data_finished;
    }
    if (trigd_progress_check(&o->progress, counts, finished, n, &stalled)) return 1;
    if (o->mod && stalled == 0)
        snprintf(why, len, "the module thread made no progress since the last tick");
    else
        snprintf(why, len, "the data thread of cell %u made no progress since the last tick",
                 ids[stalled]);
    return 0;
}

static void cb_summary(void *user, char *buf, size_t len)
{
    struct trigd_operator *o = user;
    struct trigd_status_src src;
    pthread_mutex_lock(&o->reload_lock);
    fill_src(o, &src);
    trigd_status_summary(&src, o->rates, buf, len);
    pthread_mutex_unlock(&o->reload_lock);
}

/* Re-read the config file; on success the live keys take effect. Returns the reply, or NULL
 * with err (the running configuration untouched). */
static json_t *reload(struct trigd_operator *o, char *err, size_t errlen)
{
    lt_notify_reloading();
    struct trigd_config *fresh = malloc(sizeof *fresh);
    json_t *reply = NULL;
    char e[1024];
    if (!fresh) {
        lt_seterr(err, errlen, "reload: out of memory");
        goto out;
    }
    const char *path = strcmp(o->cfg->source_name, "<embedded>") ? o->cfg->source_name : NULL;
    if (trigd_config_load(path, fresh, e, sizeof e) != 0) {
        lt_seterr(err, errlen, "reload: %s (running configuration unchanged)", e);
        goto out;
    }
    pthread_mutex_lock(&o->reload_lock);
    json_t *applied = json_array(), *ignored = json_array();
    int n = trigd_config_reload_diff(o->cfg, &o->current, fresh, applied, ignored);
    if (n > 0) {
        if (o->mod) trigd_module_ctl_thresholds(trigd_module_ctl(o->mod), &o->current.trigger);
        trigd_apply_log_level(o->current.log_level);
    }
    char dg[sizeof o->digest];
    if (config_text_digest(fresh, dg, sizeof dg, e, sizeof e) == 0)
        memcpy(o->digest, dg, sizeof dg);
    o->reloads++;
    pthread_mutex_unlock(&o->reload_lock);
    char *a = json_dumps(applied, JSON_COMPACT), *i = json_dumps(ignored, JSON_COMPACT);
    LT_INFO("reload of %s: applied %s, ignored (need a restart) %s", o->cfg->source_name,
            a ? a : "?", i ? i : "?");
    free(a);
    free(i);
    reply = json_pack("{s:o, s:o, s:s}", "applied", applied, "ignored", ignored, "config_digest",
                      o->digest);
out:
    free(fresh);
    char summary[256];
    cb_summary(o, summary, sizeof summary);
    lt_notify_ready(summary);
    return reply;
}

/* A manual trigger is queued for the module thread and answered at once: the operator thread
 * never waits on data (it also feeds the systemd watchdog). The reply's manual_request is the
 * count of issued manual triggers that includes this one; `trigger_result` tells when it went
 * out (trigctl trigger asks until it has or its timeout passes). */
static json_t *manual_trigger(struct trigd_operator *o, char *err, size_t errlen)
{
    if (!o->mod) {
        lt_seterr(err, errlen, "trigger: this process (role cell) has no aggregator");
        return NULL;
    }
    if (atomic_load(&o->stopping)) {
        lt_seterr(err, errlen, "trigger: the daemon is stopping");
        return NULL;
    }
    uint64_t want = trigd_module_ctl_manual(trigd_module_ctl(o->mod));
    o->manual++;
    return json_pack("{s:b, s:I}", "queued", 1, "manual_request", (json_int_t)want);
}

static json_t *manual_trigger_result(struct trigd_operator *o, json_t *request, char *err,
                                     size_t errlen)
{
    json_t *w = json_object_get(request, "manual_request");
    if (!o->mod || !json_is_integer(w) || json_integer_value(w) < 1) {
        lt_seterr(err, errlen, "trigger_result: needs \"manual_request\" from a trigger reply");
        return NULL;
    }
    struct trigd_module_ctl *c = trigd_module_ctl(o->mod);
    if (atomic_load(&c->manual_issued) < (uint64_t)json_integer_value(w))
        return json_pack("{s:b}", "pending", 1);
    return json_pack("{s:b, s:I}", "pending", 0, "trigger_number",
                     (json_int_t)atomic_load(&c->manual_last_number));
}

static json_t *cb_command(void *user, const char *cmd, json_t *request, char *err, size_t errlen)
{
    struct trigd_operator *o = user;
    if (!strcmp(cmd, "trigger")) return manual_trigger(o, err, errlen);
    if (!strcmp(cmd, "trigger_result")) return manual_trigger_result(o, request, err, errlen);
    if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
        if (!o->mod) {
            lt_seterr(err, errlen, "%s: this process (role cell) issues no triggers", cmd);
            return NULL;
        }
        int p = !strcmp(cmd, "pause");
        trigd_module_ctl_pause(trigd_module_ctl(o->mod), p);
        if (p)
            o->pauses++;
        else
            o->resumes++;
        LT_INFO("operator: %s", cmd);
        return json_pack("{s:s}", "state", state_name(o));
    }
    if (!strcmp(cmd, "stop")) {
        /* Exactly what SIGTERM does: the main thread takes it from its signalfd. */
        LT_INFO("operator: stop");
        kill(getpid(), SIGTERM);
        return json_pack("{s:s}", "state", "stopping");
    }
    if (!strcmp(cmd, "reload")) return reload(o, err, errlen);
    lt_seterr(err, errlen, "unknown command '%s'", cmd);
    return NULL;
}

/* "" = ipc in the runtime directory (a cell process names its socket after its first cell, so
 * the processes of one host do not collide); "off" = NULL. */
static int endpoint(const struct trigd_config *cfg, struct trigd_cells *cells, const char *given,
                    const char *what, char *buf, size_t len, const char **out)
{
    if (!strcmp(given, "off")) {
        *out = NULL;
        return 0;
    }
    if (given[0]) {
        snprintf(buf, len, "%s", given);
    } else {
        char dir[512];
        if (lt_runtime_dir(dir, sizeof dir) != 0) return LT_EIO;
        if (cfg->role == TRIGD_ROLE_CELL && cells && trigd_cells_count(cells)) {
            struct trigd_cell_stats first;
            trigd_cells_snapshot(cells, 0, &first);
            snprintf(buf, len, "ipc://%s/cell%u-%s", dir, first.id, what);
        } else
            snprintf(buf, len, "ipc://%s/%s", dir, what);
        unlink(buf + 6); /* a stale socket file from a killed daemon would make bind fail */
    }
    *out = buf;
    return 0;
}

int trigd_operator_start(const struct trigd_config *cfg, struct trigd_cells *cells,
                         struct trigd_module *mod, struct trigd_operator **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    struct trigd_operator *o = calloc(1, sizeof *o);
    if (!o || !(o->rates = trigd_status_rates_new())) {
        free(o);
        lt_seterr(err, errlen, "operator: out of memory");
        return LT_ENOMEM;
    }
    o->cfg = cfg;
    trigd_live_config_init(&o->current, cfg);
    o->cells = cells;
    o->mod = mod;
    o->started = lt_mono_s();
    pthread_mutex_init(&o->reload_lock, NULL);
    int rc = config_text_digest(cfg, o->digest, sizeof o->digest, err, errlen);
    if (rc) goto fail;
    const char *ctl_ep, *mon_ep;
    rc = endpoint(cfg, cells, cfg->monitor.control_endpoint, "control", o->control_ep,
                  sizeof o->control_ep, &ctl_ep);
    if (!rc)
        rc = endpoint(cfg, cells, cfg->monitor.status_endpoint, "monitor", o->monitor_ep,
                      sizeof o->monitor_ep, &mon_ep);
    if (rc) {
        lt_seterr(err, errlen, "operator: cannot create the runtime directory for its sockets");
        goto fail;
    }
    if (!ctl_ep && !mon_ep) {
        LT_INFO("operator: control and monitor sockets off (monitor.*_endpoint = \"off\")");
        *out = o;
        return 0;
    }
    struct lt_operator_config oc = {0};
    oc.control_endpoint = ctl_ep ? ctl_ep : "inproc://trigd-control-off";
    oc.monitor_endpoint = mon_ep ? mon_ep : "inproc://trigd-monitor-off";
    oc.security.zap_domain = "lartrig";
    oc.security.ipc_mode = 0660;
    oc.security.max_msg_size = LT_CTL_MAX_WIRE;
    if (cfg->monitor.curve_secret_key_file[0]) {
        rc = lt_zsec_read_key_file(cfg->monitor.curve_secret_key_file, o->secret, err, errlen);
        if (rc) goto fail;
        oc.security.server_secret_key = o->secret;
    }
    if (cfg->monitor.curve_allowed_keys_file[0])
        oc.security.allowed_keys_file = cfg->monitor.curve_allowed_keys_file;
    oc.publish_interval_s = 1.0;
    struct lt_operator_callbacks cb = {o, cb_status, cb_summary, cb_command, cb_healthy};
    rc = lt_operator_start(&oc, &cb, &o->op, err, errlen);
    if (rc) goto fail;
    *out = o;
    return 0;
fail:
    trigd_operator_stop(o);
    return rc;
}

void trigd_operator_ready(struct trigd_operator *o)
{
    if (!o) return;
    if (o->op)
        lt_operator_ready(o->op);
    else
        lt_notify_ready(NULL);
}

void trigd_operator_reload_signal(struct trigd_operator *o)
{
    if (!o) return;
    char err[1200];
    json_t *r = reload(o, err, sizeof err);
    if (!r) LT_ERR("SIGHUP: %s", err);
    json_decref(r);
}

void trigd_operator_stopping(struct trigd_operator *o)
{
    if (!o) return;
    atomic_store(&o->stopping, 1);
    lt_notify_stopping();
}

void trigd_operator_stop(struct trigd_operator *o)
{
    if (!o) return;
    if (o->op) lt_operator_stop(o->op);
    o->op = NULL;
    pthread_mutex_destroy(&o->reload_lock);
    trigd_status_rates_free(o->rates);
    free(o);
}
