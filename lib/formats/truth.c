/* Names of the simulation truth kinds, as they appear in reports and the /Truth table docs. */
#include "truth.h"

const char *lt_truth_kind_name(uint32_t kind)
{
    switch (kind) {
    case LT_TRUTH_AR39:
        return "ar39";
    case LT_TRUTH_LOW_ENERGY:
        return "low_energy";
    case LT_TRUTH_HIGH_ENERGY:
        return "high_energy";
    case LT_TRUTH_COSMIC:
        return "cosmic";
    case LT_TRUTH_AR42:
        return "ar42";
    case LT_TRUTH_KR85:
        return "kr85";
    case LT_TRUTH_RN222:
        return "rn222";
    case LT_TRUTH_NCAPTURE:
        return "ncapture";
    default:
        return "unknown";
    }
}

int lt_truth_kind_is_signal(uint32_t kind)
{
    return kind == LT_TRUTH_LOW_ENERGY || kind == LT_TRUTH_HIGH_ENERGY || kind == LT_TRUTH_COSMIC;
}
