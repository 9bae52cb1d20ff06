#include "sdnotify.h"

#include <stdarg.h>
#include <stdio.h>

#ifdef LARTRIG_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

int lt_notify_available(void)
{
    return 1;
}
static int notify(const char *text)
{
    return sd_notify(0, text);
}

uint64_t lt_notify_watchdog_interval_us(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0) return 0;
    return usec / 2;
}
#else
int lt_notify_available(void)
{
    return 0;
}
static int notify(const char *text)
{
    (void)text;
    return 0;
}
uint64_t lt_notify_watchdog_interval_us(void)
{
    return 0;
}
#endif

int lt_notify_ready(const char *status)
{
    char buf[512];
    snprintf(buf, sizeof buf, "READY=1\nSTATUS=%s", status ? status : "running");
    return notify(buf);
}

int lt_notify_status(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    return notify(buf);
}

int lt_notify_reloading(void)
{
    return notify("RELOADING=1");
}
int lt_notify_stopping(void)
{
    return notify("STOPPING=1");
}
int lt_notify_watchdog(void)
{
    return notify("WATCHDOG=1");
}
