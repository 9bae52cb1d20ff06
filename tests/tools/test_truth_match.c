/* Trigger-level truth (lib/formats/truth_match.h): each rule on crafted deposits and decisions,
 * including the cases the window-overlap report got wrong (issue 15): an event with no candidate
 * of its own is not found because another event triggered nearby; a trigger whose candidates
 * overlap no deposit is a fake even when signal surrounds it; an inhibited trigger loses the
 * deposits it alone would have found. */
#include "lt_error.h"
#include "truth_match.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct lt_truth dep(uint32_t kind, uint32_t cell, uint16_t w0, uint16_t w1, uint64_t t0,
                           uint64_t t1)
{
    return (struct lt_truth){.time = t0,
                             .cell = cell,
                             .channel_start = w0,
                             .channel_end = w1,
                             .kind = kind,
                             .energy_mev = 10,
                             .time_end = t1};
}

static struct lt_candidate cand(uint32_t cell, uint16_t w0, uint16_t w1, uint64_t t0, uint64_t t1)
{
    return (struct lt_candidate){.time_start = t0,
                                 .time_end = t1,
                                 .time_peak = t0,
                                 .cell = cell,
                                 .channel_start = w0,
                                 .channel_end = w1,
                                 .peak_score = 3000};
}

START_TEST(candidate_rules)
{
    struct lt_truth d = dep(LT_TRUTH_LOW_ENERGY, 1, 100, 110, 1000000, 1002000);
    struct lt_candidate c = cand(1, 104, 108, 1000500, 1001000);
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 1);
    c.cell = 2; /* another cell, same wires and time */
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 0);
    /* wires: within the tolerance on either side, not beyond */
    c = cand(1, 110 + LT_MATCH_WIRE_TOL, 130, 1000500, 1001000);
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 1);
    c.channel_start++;
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 0);
    c = cand(1, 50, 100 - LT_MATCH_WIRE_TOL, 1000500, 1001000);
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 1);
    c.channel_end--;
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 0);
    /* time: within the tolerance before the arrival and after its end, not beyond */
    c = cand(1, 104, 108, 1002000 + LT_MATCH_TIME_TOL, 1009000);
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 1);
    c.time_start++;
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 0);
    c = cand(1, 104, 108, 900000, 1000000 - LT_MATCH_TIME_TOL);
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 1);
    c.time_end--;
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 0);
    /* a point-like deposit (time_end 0 or before time) still has its arrival time */
    d.time_end = 0;
    c = cand(1, 104, 108, 1000000 + LT_MATCH_TIME_TOL, 1000000 + LT_MATCH_TIME_TOL);
    ck_assert_int_eq(lt_candidate_matches(&c, &d), 1);
}
END_TEST

/* Two events in one cell 1 ms apart on different wires, one trigger whose readout window
 * (several ms) covers both but whose only candidate is on the first: the second is not found. */
START_TEST(nearby_trigger_does_not_find)
{
    struct lt_truth truth[3] = {
        dep(LT_TRUTH_LOW_ENERGY, 0, 200, 230, 5000000, 5004000),
        dep(LT_TRUTH_LOW_ENERGY, 0, 600, 610, 5062500, 5063000), /* 1 ms later, other wires */
        dep(LT_TRUTH_LOW_ENERGY, 1, 200, 230, 5000000, 5004000), /* same place, other cell */
    };
    struct lt_candidate c[1] = {cand(0, 204, 226, 5000512, 5003584)};
    struct lt_match_trigger t[1] = {{c, 1, 0}};
    uint8_t out[3], why[1];
    ck_assert_int_eq(lt_match_triggers(truth, 3, t, 1, out, why), 0);
    ck_assert_uint_eq(out[0], LT_DEPOSIT_FOUND);
    ck_assert_uint_eq(out[1], LT_DEPOSIT_MISSED);
    ck_assert_uint_eq(out[2], LT_DEPOSIT_MISSED);
    ck_assert_uint_eq(why[0], LT_TRIGGER_SIGNAL);
}
END_TEST

/* A signal-rich sample: deposits everywhere in time, but this trigger's candidates lie on wires
 * none of them crosses. It is a fake (NOISE); one matching a 39Ar blip is a fake (BACKGROUND). */
START_TEST(fake_among_signal)
{
    struct lt_truth truth[41];
    size_t n = 0;
    for (uint64_t k = 0; k < 40; k++) /* one signal deposit every 250 us on wires 0-99 */
        truth[n++] = dep(k % 2 ? LT_TRUTH_HIGH_ENERGY : LT_TRUTH_LOW_ENERGY, 0, 0, 99,
                         1000000 + k * 15625, 1000000 + k * 15625 + 60000);
    truth[n++] = dep(LT_TRUTH_AR39, 0, 700, 700, 1200000, 1200010);
    struct lt_candidate noise[2] = {cand(0, 400, 404, 1100000, 1100512),
                                    cand(0, 420, 424, 1101000, 1101512)};
    struct lt_candidate blip[1] = {cand(0, 696, 700, 1199800, 1200300)};
    struct lt_candidate both[2] = {cand(0, 696, 700, 1199800, 1200300),
                                   cand(0, 40, 60, 1250000, 1260000)};
    struct lt_match_trigger t[3] = {{noise, 2, 0}, {blip, 1, 0}, {both, 2, 0}};
    uint8_t out[41], why[3];
    ck_assert_int_eq(lt_match_triggers(truth, n, t, 3, out, why), 0);
    ck_assert_uint_eq(why[0], LT_TRIGGER_NOISE);
    ck_assert_uint_eq(why[1], LT_TRIGGER_BACKGROUND);
    ck_assert_uint_eq(why[2], LT_TRIGGER_SIGNAL); /* one signal candidate is enough */
    ck_assert_uint_eq(out[40], LT_DEPOSIT_FOUND); /* the blip was seen, by two triggers */
    size_t found = 0;
    for (size_t i = 0; i < 40; i++) found += out[i] == LT_DEPOSIT_FOUND;
    ck_assert_uint_gt(found, 0);
    ck_assert_uint_lt(found, 40); /* only those near 1.25-1.26 ms, not the whole sample */
}
END_TEST

/* Dead time: a deposit whose only matching candidate is in an inhibited decision is lost to
 * inhibit (not found); one also matched by an issued decision stays found; an inhibited
 * decision's candidates still give it a cause. */
START_TEST(inhibited_lowers_efficiency)
{
    struct lt_truth truth[3] = {
        dep(LT_TRUTH_LOW_ENERGY, 0, 10, 20, 1000000, 1001000),
        dep(LT_TRUTH_LOW_ENERGY, 0, 300, 320, 2000000, 2001000),
        dep(LT_TRUTH_LOW_ENERGY, 0, 500, 520, 3000000, 3001000),
    };
    struct lt_candidate a[1] = {cand(0, 10, 20, 1000000, 1000512)};
    struct lt_candidate b[1] = {cand(0, 300, 320, 2000000, 2000512)};
    struct lt_candidate b2[1] = {cand(0, 302, 318, 2000100, 2000600)};
    struct lt_match_trigger t[3] = {{a, 1, 1}, {b, 1, 1}, {b2, 1, 0}};
    uint8_t out[3], why[3];
    ck_assert_int_eq(lt_match_triggers(truth, 3, t, 3, out, why), 0);
    ck_assert_uint_eq(out[0], LT_DEPOSIT_INHIBITED);
    ck_assert_uint_eq(out[1], LT_DEPOSIT_FOUND);
    ck_assert_uint_eq(out[2], LT_DEPOSIT_MISSED);
    ck_assert_uint_eq(why[0], LT_TRIGGER_SIGNAL);
    /* The order of the triggers does not matter. */
    struct lt_match_trigger r[3] = {t[2], t[1], t[0]};
    ck_assert_int_eq(lt_match_triggers(truth, 3, r, 3, out, NULL), 0);
    ck_assert_uint_eq(out[0], LT_DEPOSIT_INHIBITED);
    ck_assert_uint_eq(out[1], LT_DEPOSIT_FOUND);
}
END_TEST

/* A long candidate that starts well before the deposit still reaches it (the index looks back
 * by the longest candidate); many candidates and deposits agree with the brute-force rule. */
START_TEST(index_agrees_with_brute_force)
{
    struct lt_candidate lng[1] = {cand(0, 0, 959, 100, 9000000)};
    struct lt_truth d1 = dep(LT_TRUTH_COSMIC, 0, 5, 6, 8000000, 8000100);
    struct lt_match_trigger t1[1] = {{lng, 1, 0}};
    uint8_t o1;
    ck_assert_int_eq(lt_match_triggers(&d1, 1, t1, 1, &o1, NULL), 0);
    ck_assert_uint_eq(o1, LT_DEPOSIT_FOUND);

    enum { ND = 3000, NT = 200, PER = 5 };
    static struct lt_truth truth[ND];
    static struct lt_candidate cs[NT * PER];
    static struct lt_match_trigger trig[NT];
    static uint8_t out[ND], why[NT];
    srand(7);
    for (size_t i = 0; i < ND; i++) {
        uint16_t w = (uint16_t)(rand() % 950);
        uint64_t t0 = (uint64_t)(rand() % 4000000);
        truth[i] = dep((uint32_t)(rand() % 4), (uint32_t)(rand() % 3), w,
                       (uint16_t)(w + rand() % 10), t0, t0 + (uint64_t)(rand() % 20000));
    }
    for (size_t k = 0; k < NT; k++) {
        for (size_t j = 0; j < PER; j++) {
            uint16_t w = (uint16_t)(rand() % 950);
            uint64_t t0 = (uint64_t)(rand() % 4000000);
            cs[k * PER + j] = cand((uint32_t)(rand() % 3), w, (uint16_t)(w + rand() % 8), t0,
                                   t0 + (uint64_t)(rand() % 30000));
        }
        trig[k] = (struct lt_match_trigger){&cs[k * PER], PER, (uint32_t)(rand() % 5 == 0)};
    }
    ck_assert_int_eq(lt_match_triggers(truth, ND, trig, NT, out, why), 0);
    size_t found = 0, inh = 0;
    for (size_t i = 0; i < ND; i++) {
        uint8_t want = LT_DEPOSIT_MISSED;
        for (size_t k = 0; k < NT; k++)
            for (size_t j = 0; j < PER; j++)
                if (lt_candidate_matches(&trig[k].cand[j], &truth[i])) {
                    if (!trig[k].inhibited)
                        want = LT_DEPOSIT_FOUND;
                    else if (want == LT_DEPOSIT_MISSED)
                        want = LT_DEPOSIT_INHIBITED;
                }
        ck_assert_uint_eq(out[i], want);
        found += want == LT_DEPOSIT_FOUND;
        inh += want == LT_DEPOSIT_INHIBITED;
    }
    ck_assert_uint_gt(found, 10); /* the sample exercises every outcome */
    ck_assert_uint_gt(inh, 0);
    for (size_t k = 0; k < NT; k++) {
        uint8_t want = LT_TRIGGER_NOISE;
        for (size_t i = 0; i < ND; i++)
            for (size_t j = 0; j < PER; j++)
                if (lt_candidate_matches(&trig[k].cand[j], &truth[i])) {
                    uint8_t w = lt_truth_kind_is_signal(truth[i].kind) ? LT_TRIGGER_SIGNAL
                                                                       : LT_TRIGGER_BACKGROUND;
                    if (w > want) want = w;
                }
        ck_assert_uint_eq(why[k], want);
    }
}
END_TEST

START_TEST(empty_inputs)
{
    uint8_t why[1] = {9};
    struct lt_match_trigger t[1] = {{NULL, 0, 0}};
    ck_assert_int_eq(lt_match_triggers(NULL, 0, t, 1, NULL, why), 0);
    ck_assert_uint_eq(why[0], LT_TRIGGER_NOISE);
    struct lt_truth d = dep(LT_TRUTH_HIGH_ENERGY, 0, 1, 2, 3, 4);
    uint8_t out = 9;
    ck_assert_int_eq(lt_match_triggers(&d, 1, NULL, 0, &out, NULL), 0);
    ck_assert_uint_eq(out, LT_DEPOSIT_MISSED);
    ck_assert_int_eq(lt_truth_kind_is_signal(LT_TRUTH_AR39), 0);
    ck_assert_int_eq(lt_truth_kind_is_signal(LT_TRUTH_COSMIC), 1);
    ck_assert_int_eq(lt_truth_kind_is_signal(999), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("truth_match");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, candidate_rules);
    tcase_add_test(tc, nearby_trigger_does_not_find);
    tcase_add_test(tc, fake_among_signal);
    tcase_add_test(tc, inhibited_lowers_efficiency);
    tcase_add_test(tc, index_agrees_with_brute_force);
    tcase_add_test(tc, empty_inputs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
