/* The operator thread end to end: control requests, monitor documents, sd_notify READY/STATUS,
 * with real ipc sockets in a private runtime directory. */
#include <check.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "operator.h"
#include "sdnotify.h"

struct fake_daemon {
    atomic_int paused;
    atomic_int status_calls;
};

static json_t *status_cb(void *user)
{
    struct fake_daemon *d = user;
    atomic_fetch_add(&d->status_calls, 1);
    return json_pack("{s:s, s:i}", "state", atomic_load(&d->paused) ? "paused" : "running",
                     "run_number", 42);
}

static void summary_cb(void *user, char *buf, size_t len)
{
    (void)user;
    snprintf(buf, len, "2 cells, 0 triggers");
}

static json_t *command_cb(void *user, const char *cmd, json_t *req, char *err, size_t errlen)
{
    (void)req;
    struct fake_daemon *d = user;
    if (!strcmp(cmd, "pause")) {
        atomic_store(&d->paused, 1);
        return json_pack("{s:s}", "state", "paused");
    }
    snprintf(err, errlen, "unknown command '%s'", cmd);
    return NULL;
}

START_TEST(operator_end_to_end)
{
    char dir[] = "/tmp/lt_operator_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    setenv("RUNTIME_DIRECTORY", dir, 1);

    char notify_path[100];
    snprintf(notify_path, sizeof notify_path, "%s/notify", dir);
    int ns = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", notify_path);
    ck_assert_int_eq(bind(ns, (struct sockaddr *)&addr, sizeof addr), 0);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(ns, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", notify_path, 1);

    struct fake_daemon d = {0};
    struct lt_operator_callbacks cb = {&d, status_cb, summary_cb, command_cb, NULL};
    struct lt_operator_config cfg = {.publish_interval_s = 0.1};
    struct lt_operator *op = NULL;
    char err[256] = "";
    ck_assert_msg(lt_operator_start(&cfg, &cb, &op, err, sizeof err) == 0, "%s", err);
    char want[256];
    snprintf(want, sizeof want, "ipc://%s/control", dir);
    ck_assert_str_eq(lt_operator_control_endpoint(op), want);

    lt_operator_ready(op);
    if (lt_notify_available()) {
        char buf[256];
        ssize_t n = recv(ns, buf, sizeof buf - 1, 0);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        ck_assert_str_eq(buf, "READY=1\nSTATUS=2 cells, 0 triggers");
    }

    char *reply = NULL;
    ck_assert_int_eq(
        lt_ctl_request(want, "{\"cmd\":\"pause\"}", 2000, NULL, &reply, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(reply, "\"paused\""));
    free(reply);
    ck_assert_int_eq(
        lt_ctl_request(want, "{\"cmd\":\"status\"}", 2000, NULL, &reply, err, sizeof err), 0);
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    ck_assert(json_is_true(json_object_get(j, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "paused");
    json_decref(j);
    ck_assert_int_eq(
        lt_ctl_request(want, "{\"cmd\":\"warp\"}", 2000, NULL, &reply, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(reply, "unknown command"));
    free(reply);

    char *doc = NULL;
    ck_assert_msg(lt_monitor_receive(lt_operator_monitor_endpoint(op), 3000, NULL, &doc, err,
                                     sizeof err) == 0,
                  "%s", err);
    j = json_loads(doc, 0, NULL);
    free(doc);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "run_number")), 42);
    json_decref(j);

    lt_operator_stop(op);
    ck_assert_int_ne(access(want + 6, F_OK), 0); /* socket files removed */
    close(ns);
    unlink(notify_path);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("RUNTIME_DIRECTORY");
    rmdir(dir);
}
END_TEST

START_TEST(tcp_without_keys_refused)
{
    struct fake_daemon d = {0};
    struct lt_operator_callbacks cb = {&d, status_cb, summary_cb, command_cb, NULL};
    struct lt_operator_config cfg = {.control_endpoint = "tcp://127.0.0.1:*",
                                     .monitor_endpoint = "inproc://mon"};
    struct lt_operator *op = NULL;
    char err[256] = "";
    ck_assert_int_ne(lt_operator_start(&cfg, &cb, &op, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "CURVE"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("operator");
    TCase *tc = tcase_create("operator");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, operator_end_to_end);
    tcase_add_test(tc, tcp_without_keys_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
