/* Logging to stderr. Under systemd (JOURNAL_STREAM set) each line carries a "<N>" syslog priority
 * prefix that journald understands; on a terminal it carries a time stamp and a level name.
 * LT_LOG_RATELIMITED keeps a warning that repeats per message from flooding the journal: at most
 * `burst` lines per `interval_s` from one call site, then one line saying how many were
 * suppressed. */
#ifndef LARTRIG_LOG_H
#define LARTRIG_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum lt_log_level {
    LT_LOG_ERR = 3,
    LT_LOG_WARNING = 4,
    LT_LOG_NOTICE = 5,
    LT_LOG_INFO = 6,
    LT_LOG_DEBUG = 7,
};

void lt_log_set_level(enum lt_log_level max_level);
void lt_log_set_ident(const char *ident);
void lt_log(enum lt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct lt_ratelimit {
    _Atomic uint64_t window_start_ns;
    _Atomic uint32_t in_window;
    _Atomic uint32_t suppressed;
};

/* Returns 1 when the caller may log now; *suppressed_out gets the count dropped before it. */
int lt_ratelimit_allow(struct lt_ratelimit *rl, unsigned interval_s, unsigned burst,
                       uint32_t *suppressed_out);

#define LT_LOG_RATELIMITED(level, interval_s, burst, ...)                                          \
    do {                                                                                           \
        static struct lt_ratelimit lt_rl_;                                                         \
        uint32_t lt_supp_;                                                                         \
        if (lt_ratelimit_allow(&lt_rl_, (interval_s), (burst), &lt_supp_)) {                       \
            if (lt_supp_) lt_log((level), "(%u similar messages suppressed)", lt_supp_);           \
            lt_log((level), __VA_ARGS__);                                                          \
        }                                                                                          \
    } while (0)

#define LT_ERR(...)   lt_log(LT_LOG_ERR, __VA_ARGS__)
#define LT_WARN(...)  lt_log(LT_LOG_WARNING, __VA_ARGS__)
#define LT_INFO(...)  lt_log(LT_LOG_INFO, __VA_ARGS__)
#define LT_DEBUG(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)

#endif
