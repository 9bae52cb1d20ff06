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
    default:
        return "unknown";
    }
}
