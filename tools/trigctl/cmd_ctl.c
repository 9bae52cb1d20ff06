/* trigctl status | top | trigger | pause | resume | stop | reload: talk to a running trigd
 * through its control (REP) and monitor (PUB) sockets. Exit codes: 0 ok, 1 the daemon answered
 * with an error, 2 usage, 3 no daemon answered. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "ctl.h"
#include "lt_error.h"
#include "socket_security.h"

#define EXIT_NO_DAEMON 3

struct ctl_opts {
    char control[512];
    char monitor[512];
    int timeout_ms;
    int json;
    int once;
    struct lt_ctl_client_keys keys;
    char server_public[LT_Z85_KEY_LEN + 1];
    char client_public[LT_Z85_KEY_LEN + 1];
    char client_secret[LT_Z85_KEY_LEN + 1];
};

/* Key files hold a single Z85 key (first token). */
static int read_key(const char *path, char *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int ok = fscanf(f, "%40s", out) == 1 && strlen(out) == LT_Z85_KEY_LEN;
    fclose(f);
    return ok ? 0 : -1;
}

static void usage(const char *cmd)
{
    fprintf(stderr,
            "usage: trigctl %s [--endpoint EP] [--monitor EP] [--timeout MS] [--json]\n"
            "       [--server-key FILE --client-key FILE --client-secret FILE]   (tcp + CURVE)\n"
            "  default endpoints: ipc://<runtime dir>/control and .../monitor\n",
            cmd);
}

static int parse(int argc, char **argv, struct ctl_opts *o)
{
    static const struct option longopts[] = {{"endpoint", required_argument, 0, 'e'},
                                             {"monitor", required_argument, 0, 'm'},
                                             {"timeout", required_argument, 0, 't'},
                                             {"json", no_argument, 0, 'j'},
                                             {"once", no_argument, 0, '1'},
                                             {"server-key", required_argument, 0, 's'},
                                             {"client-key", required_argument, 0, 'k'},
                                             {"client-secret", required_argument, 0, 'x'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->timeout_ms = 2000;
    char rundir[400];
    if (lt_runtime_dir(rundir, sizeof rundir) != 0) snprintf(rundir, sizeof rundir, "/run/lartrig");
    snprintf(o->control, sizeof o->control, "ipc://%s/control", rundir);
    snprintf(o->monitor, sizeof o->monitor, "ipc://%s/monitor", rundir);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:m:t:j", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            snprintf(o->control, sizeof o->control, "%s", optarg);
            break;
        case 'm':
            snprintf(o->monitor, sizeof o->monitor, "%s", optarg);
            break;
        case 't':
            o->timeout_ms = atoi(optarg);
            break;
        case 'j':
            o->json = 1;
            break;
        case '1':
            o->once = 1;
            break;
        case 's':
        case 'k':
        case 'x': {
            char *dst = c == 's'   ? o->server_public
                        : c == 'k' ? o->client_public
                                   : o->client_secret;
            if (read_key(optarg, dst) != 0) {
                fprintf(stderr, "trigctl: %s: not a file holding one 40-character Z85 key\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'h':
            usage(argv[0]);
            return 1;
        default:
            usage(argv[0]);
            return 2;
        }
    }
    if (optind != argc) {
        usage(argv[0]);
        return 2;
    }
    if (o->server_public[0]) {
        o->keys.server_public = o->server_public;
        o->keys.client_public = o->client_public;
        o->keys.client_secret = o->client_secret;
    }
    if (o->timeout_ms <= 0) o->timeout_ms = 2000;
    return 0;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static void print_status_table(json_t *st)
{
    printf("trigd %s  run %.0f  role %s  state %s  uptime %.0f s\n",
           json_string_value(json_object_get(st, "version")) ?: "?", num(st, "run_number"),
           json_string_value(json_object_get(st, "role")) ?: "?",
           json_string_value(json_object_get(st, "state")) ?: "?", num(st, "uptime_s"));
    json_t *cells = json_object_get(st, "cells");
    if (json_is_array(cells) && json_array_size(cells) > 0) {
        printf("\n%6s %10s %9s %7s %10s %10s %8s\n", "cell", "frames/s", "lag ms", "ring %",
               "cands/s", "drops", "state");
        size_t i;
        json_t *c;
        json_array_foreach(cells, i, c)
        {
            json_t *drops = json_object_get(c, "drops");
            double ndrops = 0;
            const char *k;
            json_t *v;
            json_object_foreach(drops, k, v) ndrops += json_is_number(v) ? json_number_value(v) : 0;
            printf("%6.0f %10.0f %9.1f %7.1f %10.1f %10.0f %8s\n", num(c, "id"),
                   num(c, "frames_per_s"), num(c, "lag_ms"), 100.0 * num(c, "ring_fill"),
                   num(c, "candidates_per_s"), ndrops,
                   json_is_true(json_object_get(c, "missing")) ? "MISSING" : "ok");
        }
    }
    json_t *agg = json_object_get(st, "aggregator");
    if (json_is_object(agg)) {
        json_t *lat = json_object_get(agg, "latency_ms");
        printf("\naggregator: decisions %.0f  inhibited %.0f  bad messages %.0f  latency p50 %.2f "
               "ms p99 %.2f ms\n",
               num(agg, "decisions"), num(agg, "inhibited"), num(agg, "bad_messages"),
               num(lat, "p50"), num(lat, "p99"));
        json_t *trig = json_object_get(agg, "triggers");
        const char *k;
        json_t *v;
        printf("  triggers:");
        json_object_foreach(trig, k, v) printf(" %s=%.0f", k, json_number_value(v));
        printf("\n");
        json_t *missing = json_object_get(agg, "missing_cells");
        if (json_is_array(missing) && json_array_size(missing) > 0) {
            char *m = json_dumps(missing, JSON_COMPACT);
            printf("  MISSING cells: %s\n", m);
            free(m);
        }
        /* The data plane's refusals (docs/security.md): a clock fault is a cell's problem to
         * look at even while its data still flows. */
        json_t *dp = json_object_get(agg, "data_plane");
        json_t *faulty = json_object_get(dp, "clock_fault_cells");
        if (json_is_array(faulty) && json_array_size(faulty) > 0) {
            char *m = json_dumps(faulty, JSON_COMPACT);
            printf("  CLOCK FAULT cells: %s\n", m);
            free(m);
        }
        if (json_is_object(dp))
            printf("  refused: %.0f forged, %.0f clock, %.0f sequence, %.0f out of order, %.0f bad "
                   "replies, %.0f peers\n",
                   num(dp, "forged"), num(dp, "clock_faults"), num(dp, "sequence_refused"),
                   num(dp, "out_of_order"), num(dp, "bad_replies"), num(dp, "peers_refused"));
    }
    const char *sec = json_string_value(json_object_get(st, "data_security"));
    if (sec && !strcmp(sec, "insecure"))
        printf("\nINSECURE: the data sockets are plain tcp without keys (docs/security.md)\n");
    json_t *w = json_object_get(st, "writer");
    if (json_is_object(w)) {
            printf(
                "\nwriter: %s  queue %.0f  records %.0f  %.1f MB  %.1f MB/s  files %.0f  free %.1f "
                "GB  errors %.0f%s\n",
                json_string_value(json_object_get(w, "io_mode")) ?: "?", num(w, "queue"),
                num(w, "records"), num(w, "bytes") / 1e6, num(w, "mb_per_s"), num(w, "files"),
                num(w, "free_bytes") / 1e9, num(w, "errors"),
                json_is_true(json_object_get(w, "inhibit")) ? "  INHIBIT" : "");
    }
}

/* The daemon answers `trigger` at once (it never waits on data); ask for the trigger number
 * until it is issued or the timeout passes. Takes `queued`; returns the reply to print (owned)
 * or NULL with a message on stderr. */
static json_t *wait_manual_trigger(struct ctl_opts *o, json_t *queued)
{
    json_int_t want = json_integer_value(json_object_get(queued, "manual_request"));
    json_decref(queued); /* replaced by the result */
    char req[128];
    snprintf(req, sizeof req, "{\"cmd\":\"trigger_result\",\"manual_request\":%lld}",
             (long long)want);
    for (int waited = 0; waited <= o->timeout_ms; waited += 20) {
        char *reply = NULL, err[512] = "";
        if (lt_ctl_request(o->control, req, o->timeout_ms, o->keys.server_public ? &o->keys : NULL,
                           &reply, err, sizeof err) != 0) {
            fprintf(stderr, "trigctl: trigger: %s\n", err);
            return NULL;
        }
        json_t *j = json_loads(reply, 0, NULL);
        free(reply);
        if (j && json_is_true(json_object_get(j, "ok")) &&
            json_is_false(json_object_get(j, "pending"))) {
            json_object_del(j, "pending");
            return j;
        }
        json_decref(j);
        usleep(20000);
    }
    fprintf(stderr,
            "trigctl: trigger: queued but not issued within %d ms (no data flowing, or triggers "
            "inhibited); it goes out when the data horizon passes it\n",
            o->timeout_ms);
    return NULL;
}

/* One request; prints the reply (table or JSON). */
static int request(struct ctl_opts *o, const char *cmd)
{
    char req[128];
    snprintf(req, sizeof req, "{\"cmd\":\"%s\"}", cmd);
    char *reply = NULL;
    char err[512] = "";
    int rc = lt_ctl_request(o->control, req, o->timeout_ms, o->keys.server_public ? &o->keys : NULL,
                            &reply, err, sizeof err);
    if (rc == LT_ETIMEOUT) {
        fprintf(stderr, "trigctl: %s\n", err);
        return EXIT_NO_DAEMON;
    }
    if (rc != 0) {
        fprintf(stderr, "trigctl: %s\n", err[0] ? err : lt_strerror(rc));
        return EXIT_NO_DAEMON;
    }
    json_t *j = json_loads(reply, 0, NULL);
    int exit_code = 0;
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "trigctl: the daemon sent a reply that is not JSON: %.200s\n", reply);
        exit_code = 1;
    } else if (!json_is_true(json_object_get(j, "ok"))) {
        fprintf(stderr, "trigctl: %s: %s\n", cmd,
                json_string_value(json_object_get(j, "error")) ?: "failed");
        exit_code = 1;
    } else if (!strcmp(cmd, "trigger") && !(j = wait_manual_trigger(o, j))) {
        exit_code = 1;
    } else if (o->json || strcmp(cmd, "status") != 0) {
        if (o->json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            printf("\n");
        } else {
            json_object_del(j, "ok");
            char *s = json_dumps(j, JSON_COMPACT);
            printf("%s: ok %s\n", cmd, s);
            free(s);
        }
    } else {
        print_status_table(j);
    }
    json_decref(j);
    free(reply);
    return exit_code;
}

int cmd_ctl(int argc, char **argv)
{
    struct ctl_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    return request(&o, argv[0]);
}

int cmd_top(int argc, char **argv)
{
    struct ctl_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    int tty = isatty(STDOUT_FILENO);
    for (;;) {
        char *doc = NULL;
        char err[512] = "";
        /* Status is published once a second: wait a little longer than that. */
        int timeout = o.timeout_ms > 1500 ? o.timeout_ms : 1500;
        rc = lt_monitor_receive(o.monitor, timeout, o.keys.server_public ? &o.keys : NULL, &doc,
                                err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "trigctl top: %s\n", err);
            return EXIT_NO_DAEMON;
        }
        json_t *j = json_loads(doc, 0, NULL);
        free(doc);
        if (!j) {
            fprintf(stderr, "trigctl top: status document is not JSON\n");
            return 1;
        }
        if (tty) printf("\033[H\033[2J");
        if (o.json) {
            json_dumpf(j, stdout, JSON_COMPACT);
            printf("\n");
        } else {
            print_status_table(j);
        }
        fflush(stdout);
        json_decref(j);
        if (o.once) return 0;
    }
}
