#include "h5open.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char watchdog_msg[1200];
static size_t watchdog_len;

static void on_alarm(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here: the message was formatted before arming. */
    if (write(STDERR_FILENO, watchdog_msg, watchdog_len) < 0) {
    }
    _exit(1);
}

int trigctl_h5_open(struct lt_h5r **out, const char *path, char *err, size_t errlen)
{
    unsigned secs = 60;
    const char *env = getenv("LARTRIG_H5_OPEN_TIMEOUT");
    if (env && atoi(env) > 0) secs = (unsigned)atoi(env);
    int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "trigctl: %s: the HDF5 library did not finish reading the file's metadata in "
                     "%u s; the file is corrupt (see tests/fuzz/known-libhdf5/README.md)\n",
                     path, secs);
    watchdog_len = n > 0 && (size_t)n < sizeof watchdog_msg ? (size_t)n : 0;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, &old);
    alarm(secs);
    int rc = lt_h5r_open(out, path, err, errlen);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    return rc;
}
