/* trigctl metrics --listen ADDR: a Prometheus exporter for trigd. It subscribes to trigd's
 * monitor socket (ZeroMQ SUB, the same documents `trigctl top` shows) and serves the latest one
 * as /metrics (prom_text.h) from a small HTTP server (http_server.h), all in one poll loop of
 * this process: nothing of it runs in trigd's real-time process, and a slow scraper or a dead
 * exporter costs trigd nothing (its PUB socket drops for slow subscribers).
 * Exit codes: 0 on SIGTERM/SIGINT, 1 runtime failure, 2 usage. */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client_keys.h"
#include "commands.h"
#include "ctl.h"
#include "http_server.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "prom_text.h"
#include "socket_security.h"

#define DEFAULT_LISTEN  "127.0.0.1:9617"
#define DEFAULT_STALE_S 5.0 /* trigd publishes once a second */
#define POLL_MS         500 /* bounds how late connection timeouts are enforced */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct exporter {
    json_t *latest; /* the last status document, or NULL */
    double latest_t;
    double stale_s;
    struct prom_exporter_stats stats;
    struct prom_text text;
};

static void on_http(void *user, const char *path, struct http_response *resp)
{
    struct exporter *ex = user;
    if (!strcmp(path, "/metrics")) {
        double age = ex->latest ? lt_mono_s() - ex->latest_t : -1;
        ex->stats.document_age_s = age;
        ex->stats.up = ex->latest && age <= ex->stale_s;
        ex->stats.scrapes++;
        prom_text_reset(&ex->text);
        prom_render(ex->latest, &ex->stats, &ex->text);
        if (ex->text.oom) {
            resp->status = 500;
            resp->body = "out of memory\n";
            resp->body_len = strlen(resp->body);
            return;
        }
        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        resp->body = ex->text.buf;
        resp->body_len = ex->text.len;
    }
}

/* Take every message waiting on the monitor socket; the newest status document wins. */
static void drain_monitor(void *sub, struct exporter *ex)
{
    char *topic, *body;
    int rc;
    while ((rc = lt_monitor_read(sub, &topic, &body)) != LT_ENOTFOUND) {
        if (rc != 0) {
            ex->stats.bad_documents++;
            continue;
        }
        json_t *j = json_loads(body, 0, NULL);
        if (!json_is_object(j)) {
            ex->stats.bad_documents++;
            json_decref(j);
        } else if (!strcmp(topic, LT_MONITOR_TOPIC_STATUS)) {
            json_decref(ex->latest);
            ex->latest = j;
            ex->latest_t = lt_mono_s();
            ex->stats.documents++;
        } else {
            /* Alarm events also go to the exporter's log (the journal under systemd). */
            ex->stats.alarm_events++;
            fprintf(stderr, "trigctl metrics: alarm %s: %s\n",
                    json_string_value(json_object_get(j, "event")) ?: "?",
                    json_string_value(json_object_get(j, "message")) ?: "?");
            json_decref(j);
        }
        free(topic);
        free(body);
    }
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: trigctl metrics [--listen HOST:PORT] [--monitor EP] [--stale S]\n" CLIENT_KEYS_USAGE
        "  serves trigd's status as Prometheus metrics at http://HOST:PORT/metrics\n"
        "  --listen  default %s ([IPV6]:PORT and :PORT for all addresses work too)\n"
        "  --monitor trigd's monitor socket, default ipc://<runtime dir>/monitor\n"
        "  --stale   seconds without a status document before lartrig_up is 0 and trigd's\n"
        "            metrics are left out (default %.0f)\n",
        DEFAULT_LISTEN, DEFAULT_STALE_S);
}

int cmd_metrics(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, 0, 'l'}, {"monitor", required_argument, 0, 'm'},
        {"stale", required_argument, 0, 'S'},  CLIENT_KEYS_LONGOPTS,
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    char listen[300] = DEFAULT_LISTEN, monitor[512];
    struct client_keys ck;
    memset(&ck, 0, sizeof ck);
    struct exporter ex = {.stale_s = DEFAULT_STALE_S};
    char rundir[400];
    if (lt_runtime_dir(rundir, sizeof rundir) != 0) snprintf(rundir, sizeof rundir, "/run/lartrig");
    snprintf(monitor, sizeof monitor, "ipc://%s/monitor", rundir);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:m:", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            snprintf(listen, sizeof listen, "%s", optarg);
            break;
        case 'm':
            snprintf(monitor, sizeof monitor, "%s", optarg);
            break;
        case 'S':
            ex.stale_s = atof(optarg);
            if (ex.stale_s <= 0) {
                fprintf(stderr, "trigctl metrics: --stale must be > 0\n");
                return 2;
            }
            break;
        case 's':
        case 'k':
        case 'x':
            if (client_keys_option(&ck, c, optarg) != 0) return 2;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (optind != argc) {
        usage();
        return 2;
    }

    char err[512] = "";
    struct http_server *http = NULL;
    int rc = http_server_open(listen, on_http, &ex, &http, err, sizeof err);
    if (rc) {
        fprintf(stderr, "trigctl metrics: %s\n", err);
        return rc == LT_EINVAL ? 2 : 1;
    }
    void *zctx = zmq_ctx_new();
    void *sub = NULL;
    rc = zctx ? lt_monitor_subscribe(zctx, monitor, client_keys_get(&ck), &sub, err, sizeof err)
              : LT_ENOMEM;
    if (rc) {
        fprintf(stderr, "trigctl metrics: %s\n", err[0] ? err : lt_strerror(rc));
        http_server_close(http);
        if (zctx) zmq_ctx_term(zctx);
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns on the signal */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "trigctl metrics: http://%s/metrics (port %u) from %s\n", listen,
            http_server_port(http), monitor);

    struct pollfd fds[1 + HTTP_MAX_CONNECTIONS];
    zmq_pollitem_t items[2 + HTTP_MAX_CONNECTIONS];
    int of[2 + HTTP_MAX_CONNECTIONS]; /* items[k] polls fds[of[k]] */
    while (!stop_requested) {
        int n = http_server_pollfds(http, fds, 1 + HTTP_MAX_CONNECTIONS), m = 1;
        items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
        for (int i = 0; i < n; i++) {
            fds[i].revents = 0;
            if (fds[i].fd < 0) continue; /* an unused slot: not polled */
            items[m] = (zmq_pollitem_t){.fd = fds[i].fd, .events = fds[i].events};
            of[m++] = i;
        }
        if (zmq_poll(items, m, POLL_MS) < 0) continue; /* EINTR: check stop_requested */
        if (items[0].revents & ZMQ_POLLIN) drain_monitor(sub, &ex);
        for (int k = 1; k < m; k++) fds[of[k]].revents = (short)items[k].revents;
        http_server_handle(http, fds, n);
    }
    zmq_close(sub);
    zmq_ctx_term(zctx);
    http_server_close(http);
    json_decref(ex.latest);
    prom_text_free(&ex.text);
    return 0;
}
