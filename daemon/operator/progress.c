/* Watchdog progress check: see progress.h. */
#include "progress.h"

int trigd_progress_check(struct trigd_progress *p, const uint64_t *counts, const uint8_t *finished,
                         uint32_t n, uint32_t *stalled)
{
    if (n > TRIGD_PROGRESS_MAX) n = TRIGD_PROGRESS_MAX;
    int ok = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (ok && p->primed && !finished[i] && counts[i] == p->last[i]) {
            ok = 0;
            *stalled = i;
        }
        p->last[i] = counts[i];
    }
    p->primed = 1;
    return ok;
}
