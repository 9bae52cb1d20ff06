/* trigctl status | top | trigger | pause | resume | stop | reload: talk to a running trigd
 * through its control (REP) and monitor (PUB) sockets. Exit codes: 0 ok, 1 the daemon answered
 * with an error, 2 usage, 3 no daemon answered. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_keys.h"
#include "commands.h"
#include "ctl.h"
#include "lt_error.h"
#include "socket_security.h"
#include "status_table.h"

#define EXIT_NO_DAEMON 3

struct ctl_opts {
    char control[512];
    char monitor[512];
    int timeout_ms;
    int json;
    int once;
    struct client_keys ck;
    const struct lt_ctl_client_keys *keys; /* NULL for ipc */
};

static void usage(const char *cmd)
{
    fprintf(stderr,
            "usage: trigctl %s [--endpoint EP] [--monitor EP] [--timeout MS] "
            "[--json]\n" CLIENT_KEYS_USAGE
            "  default endpoints: ipc://<runtime dir>/control and .../monitor\n",
            cmd);
}

static int parse(int argc, char **argv, struct ctl_opts *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, 0, 'e'}, {"monitor", required_argument, 0, 'm'},
        {"timeout", required_argument, 0, 't'},  {"json", no_argument, 0, 'j'},
        {"once", no_argument, 0, '1'},           CLIENT_KEYS_LONGOPTS,
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
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
        case 'x':
            if (client_keys_option(&o->ck, c, optarg) != 0) return 2;
            break;
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
    o->keys = client_keys_get(&o->ck);
    if (o->timeout_ms <= 0) o->timeout_ms = 2000;
    return 0;
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
        if (lt_ctl_request(o->control, req, o->timeout_ms, o->keys, &reply, err, sizeof err) != 0) {
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
    int rc = lt_ctl_request(o->control, req, o->timeout_ms, o->keys, &reply, err, sizeof err);
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
        status_table_print(stdout, j);
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
        rc = lt_monitor_receive(o.monitor, timeout, o.keys, &doc, err, sizeof err);
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
            status_table_print(stdout, j);
        }
        fflush(stdout);
        json_decref(j);
        if (o.once) return 0;
    }
}
