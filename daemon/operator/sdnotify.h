/* systemd service notifications (Type=notify): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
 * With libsystemd these go through sd_notify(); built without it, or when not started by systemd
 * (no NOTIFY_SOCKET), every call is a cheap no-op, so trigd runs the same from a shell. */
#ifndef LARTRIG_SDNOTIFY_H
#define LARTRIG_SDNOTIFY_H

#include <stdint.h>

/* 1 when built with libsystemd. */
int lt_notify_available(void);
int lt_notify_ready(const char *status);
int lt_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int lt_notify_reloading(void);
int lt_notify_stopping(void);
int lt_notify_watchdog(void);
/* Interval at which to send WATCHDOG=1 (half of WatchdogSec), in microseconds; 0 when the
 * service manager asked for no watchdog. */
uint64_t lt_notify_watchdog_interval_us(void);

#endif
