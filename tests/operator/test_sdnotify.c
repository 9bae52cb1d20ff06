/* sd_notify messages checked on a real NOTIFY_SOCKET (an AF_UNIX datagram socket the test owns). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

static int sock = -1;
static char path[108];

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/lt_notify_%d", (int)getpid());
    unlink(path);
    sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    ck_assert_int_eq(bind(sock, (struct sockaddr *)&addr, sizeof addr), 0);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", path, 1);
}

static void teardown(void)
{
    close(sock);
    unlink(path);
    unsetenv("NOTIFY_SOCKET");
}

static void expect(const char *want)
{
    char buf[600];
    ssize_t n = recv(sock, buf, sizeof buf - 1, 0);
    ck_assert_msg(n > 0, "no notification received (wanted %s)", want);
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

START_TEST(notifications)
{
    if (!lt_notify_available()) {
        printf("SKIP: built without libsystemd; notifications are no-ops\n");
        ck_assert_int_eq(lt_notify_ready("x"), 0);
        return;
    }
    ck_assert_int_gt(lt_notify_ready("4 cells, 0 triggers"), 0);
    expect("READY=1\nSTATUS=4 cells, 0 triggers");
    ck_assert_int_gt(lt_notify_status("%d Hz candidates", 120), 0);
    expect("STATUS=120 Hz candidates");
    lt_notify_watchdog();
    expect("WATCHDOG=1");
    lt_notify_reloading();
    expect("RELOADING=1");
    lt_notify_stopping();
    expect("STOPPING=1");
}
END_TEST

START_TEST(watchdog_interval_is_half)
{
    if (!lt_notify_available()) return;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    setenv("WATCHDOG_USEC", "4000000", 1);
    ck_assert_uint_eq(lt_notify_watchdog_interval_us(), 2000000);
    unsetenv("WATCHDOG_USEC");
    ck_assert_uint_eq(lt_notify_watchdog_interval_us(), 0);
    unsetenv("WATCHDOG_PID");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdnotify");
    TCase *tc = tcase_create("sdnotify");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, notifications);
    tcase_add_test(tc, watchdog_interval_is_half);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
