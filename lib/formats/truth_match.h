/* Trigger-level truth: which simulated deposits the module trigger found and which of its
 * triggers are fakes, decided from the candidates behind each trigger decision (not from its
 * readout window, which also holds whatever happened to lie nearby).
 *
 * The rules (docs/replay.md states them for users; tests/tools/test_truth_match.c proves each):
 *  - a candidate MATCHES a deposit when both are in the same cell, the candidate's wire range
 *    overlaps the deposit's collection-wire range within LT_MATCH_WIRE_TOL wires, and its time
 *    range overlaps the deposit's charge arrival [time, time_end] within LT_MATCH_TIME_TOL;
 *  - a deposit is FOUND when an issued trigger's decision holds a candidate that matches it;
 *    a deposit whose only matching candidates sit in inhibited decisions (dead time: the
 *    readout or writer could not take another record) is LOST TO INHIBIT, and is not found;
 *    anything else is MISSED. Another deposit's trigger nearby in time finds nothing here;
 *  - a trigger's CAUSE is SIGNAL when one of its candidates matches a signal deposit,
 *    BACKGROUND when none does but one matches a background deposit (39Ar and the other
 *    radiologicals), NOISE otherwise. A physics trigger whose cause is not SIGNAL is a fake,
 *    however much signal the sample holds.
 *
 * Pure: no I/O, no globals; thread-safe. lt_match_triggers allocates one index of the
 * candidates (freed before it returns). */
#ifndef LARTRIG_TRUTH_MATCH_H
#define LARTRIG_TRUTH_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "truth.h"

/* Kernel candidates are boxes of score-map pixels: a pixel is 4 wires wide (the network's
 * pooling) and 16 samples = 512 ticks long, and the network's receptive field reaches two
 * score columns beyond the charge. The same tolerances as tools/train/physics_report.py. */
#define LT_MATCH_WIRE_TOL 4U
#define LT_MATCH_TIME_TOL 4096U /* ticks: two score columns of a D = 16, pool-4 network */

enum lt_deposit_outcome {
    LT_DEPOSIT_MISSED = 0,
    LT_DEPOSIT_FOUND = 1,
    LT_DEPOSIT_INHIBITED = 2, /* only inhibited decisions held a matching candidate */
};

enum lt_trigger_cause {
    LT_TRIGGER_NOISE = 0,      /* no candidate matches any deposit */
    LT_TRIGGER_BACKGROUND = 1, /* candidates match background deposits only */
    LT_TRIGGER_SIGNAL = 2,     /* a candidate matches a signal deposit */
};

/* One trigger decision as the module made it. */
struct lt_match_trigger {
    const struct lt_candidate *cand; /* the candidates of its decision (borrowed) */
    uint32_t n_cand;
    uint32_t inhibited; /* 1: decided but not issued (dead time) */
};

/* 1 when candidate c matches deposit d (the first rule above). */
int lt_candidate_matches(const struct lt_candidate *c, const struct lt_truth *d);

/* Applies the rules: outcome[i] (enum lt_deposit_outcome) for every truth row, cause[k] (enum
 * lt_trigger_cause) for every trigger; either may be NULL. 0, or LT_ENOMEM (outputs untouched). */
int lt_match_triggers(const struct lt_truth *truth, size_t n_truth,
                      const struct lt_match_trigger *trig, size_t n_trig, uint8_t *outcome,
                      uint8_t *cause);

#endif
