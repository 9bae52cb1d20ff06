/* Simulation truth: one row per injected deposit, stored in run files as the /Truth compound
 * dataset and used by replay and the physics report to measure efficiency. */
#ifndef LARTRIG_TRUTH_H
#define LARTRIG_TRUTH_H

#include <stdint.h>

enum lt_truth_kind {
    LT_TRUTH_AR39 = 0,        /* 39Ar beta decay (background) */
    LT_TRUTH_LOW_ENERGY = 1,  /* 5-50 MeV electron (supernova / solar-like) */
    LT_TRUTH_HIGH_ENERGY = 2, /* 0.1-10 GeV neutrino-like track or shower */
    LT_TRUTH_COSMIC = 3,      /* cosmic muon */
    LT_TRUTH_AR42 = 4,        /* 42Ar beta or its daughter 42K's beta (+ gamma): background */
    LT_TRUTH_KR85 = 5,        /* 85Kr beta decay (background) */
    LT_TRUTH_RN222 = 6,       /* a decay of the 222Rn chain in the argon (quenched alphas, betas) */
    LT_TRUTH_NCAPTURE = 7,    /* neutron capture on 40Ar: a 6.1 MeV gamma cascade (blips) */
    LT_TRUTH_KIND_COUNT = 8,
};

struct lt_truth {
    uint64_t time; /* ticks of the interaction (start of charge arrival on the wires) */
    uint32_t cell;
    uint16_t channel_start; /* collection-plane wire range hit */
    uint16_t channel_end;
    uint32_t kind;     /* enum lt_truth_kind */
    float energy_mev;  /* deposited energy in the cell */
    uint64_t time_end; /* ticks of the last charge arrival */
};

/* "ar39", "low_energy", "high_energy", "cosmic", "ar42", "kr85", "rn222", "ncapture"; "unknown" */
const char *lt_truth_kind_name(uint32_t kind);
/* 1 for what a trigger is meant to find (low/high energy, cosmic); 0 for radiological
 * background and unknown kinds. The one place that says which kinds are signal. */
int lt_truth_kind_is_signal(uint32_t kind);

#endif
