#include "log.h"
#include "lt_clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum lt_log_level max_level = LT_LOG_INFO;
static const char *log_ident = "lartrig";

void lt_log_set_level(enum lt_log_level level)
{
    max_level = level;
}
void lt_log_set_ident(const char *ident)
{
    log_ident = ident;
}

static const char *level_name(enum lt_log_level level)
{
    switch (level) {
    case LT_LOG_ERR:
        return "error";
    case LT_LOG_WARNING:
        return "warning";
    case LT_LOG_NOTICE:
        return "notice";
    case LT_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void lt_log(enum lt_log_level level, const char *fmt, ...)
{
    if (level > max_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One write() per line so lines from several threads never interleave. */
    char line[1200];
    int n;
    if (getenv("JOURNAL_STREAM")) {
        n = snprintf(line, sizeof line, "<%d>%s\n", (int)level, msg);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s %s: %s\n", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_ident, level_name(level), msg);
    }
    if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* Nowhere left to report a failing stderr. */
    }
}

int lt_ratelimit_allow(struct lt_ratelimit *rl, unsigned interval_s, unsigned burst,
                       uint32_t *suppressed_out)
{
    uint64_t now = lt_mono_ns();
    uint64_t start = atomic_load(&rl->window_start_ns);
    *suppressed_out = 0;
    if (start == 0 || now - start >= (uint64_t)interval_s * 1000000000ULL) {
        if (atomic_compare_exchange_strong(&rl->window_start_ns, &start, now)) {
            atomic_store(&rl->in_window, 0);
            *suppressed_out = atomic_exchange(&rl->suppressed, 0);
        }
    }
    if (atomic_fetch_add(&rl->in_window, 1) < burst) return 1;
    atomic_fetch_add(&rl->suppressed, 1);
    return 0;
}
