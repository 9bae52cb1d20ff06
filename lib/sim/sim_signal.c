/* Pending signals: a fixed pool of shaped pulses, bucketed by the frame period in which they
 * start, rendered into the cell's signal rows only where they are. Nothing here allocates. */
#include <math.h>

#include "log.h"
#include "sim_internal.h"

void lt_sim_pulses_reset(struct lt_sim_cell *s)
{
    /* Pulses are taken from the free list, else from the never-used tail of the pool: pages of
     * the pool a run never needs are never touched (calloc'd memory stays uncommitted). */
    s->free_head = LT_SIM_NONE;
    s->pool_used = 0;
    for (uint32_t b = 0; b < LT_SIM_BUCKETS; b++) s->bucket[b] = LT_SIM_NONE;
    s->n_active = 0;
}

static inline uint32_t bucket_of(const struct lt_sim_cell *s, uint64_t sample)
{
    return (uint32_t)(((sample - s->start_sample) / LT_SAMPLES_PER_FRAME) % LT_SIM_BUCKETS);
}

/* A free pool entry, or NONE when the pool is full (counted and logged). */
static uint32_t pulse_alloc(struct lt_sim_cell *s)
{
    if (s->free_head == LT_SIM_NONE && s->pool_used == s->pool_cap) {
        s->stats.pulses_dropped++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "sim cell %u: signal pulse pool full (%u), charge dropped "
                           "(raise max_pulses)",
                           s->cell, s->pool_cap);
        return LT_SIM_NONE;
    }
    uint32_t i;
    if (s->free_head != LT_SIM_NONE) {
        i = s->free_head;
        s->free_head = s->pool[i].next;
    } else {
        i = s->pool_used++;
    }
    return i;
}

/* Queue a pulse covering samples [lo, hi] (relative to start_sample) in its first period's
 * bucket. lo is at or after the next period to render. */
static void pulse_queue(struct lt_sim_cell *s, uint32_t i, double lo, double hi)
{
    struct lt_sim_pulse *p = &s->pool[i];
    p->first = (int64_t)s->start_sample + (int64_t)lo;
    p->n = (uint16_t)(hi - lo + 1.0);
    uint32_t b = bucket_of(s, (uint64_t)p->first);
    p->next = s->bucket[b];
    s->bucket[b] = i;
    s->stats.pulses++;
}

/* Clip [lo, hi] to start at the next period to render; 0 when nothing is left or it starts
 * beyond the bucket ring (cannot happen with the drift limits validated at create; guarded). */
static int clip_window(struct lt_sim_cell *s, double *lo, double hi)
{
    /* A pulse never starts before the next period to render: events are made LT_SIM_LOOKAHEAD
     * samples ahead, so only an injected event at the very next period loses its leading tail. */
    const double next = (double)(s->next_sample - s->start_sample);
    if (*lo < next) *lo = next;
    if (hi < *lo) return 0;
    if (*lo >= next + (double)((LT_SIM_BUCKETS - 2) * LT_SAMPLES_PER_FRAME)) {
        s->stats.pulses_dropped++;
        return 0;
    }
    return 1;
}

void lt_sim_pulse_add(struct lt_sim_cell *s, uint32_t channel, double center_sample, float amp,
                      double sigma_samples, int bipolar)
{
    double half = LT_SIM_PULSE_SIGMAS * sigma_samples;
    double lo = ceil(center_sample - half), hi = floor(center_sample + half);
    if (!clip_window(s, &lo, hi)) return;
    uint32_t i = pulse_alloc(s);
    if (i == LT_SIM_NONE) return;
    struct lt_sim_pulse *p = &s->pool[i];
    p->center = (float)(center_sample - lo);
    p->amp = amp;
    p->inv_sigma = (float)(1.0 / sigma_samples);
    p->channel = channel;
    p->shape = bipolar ? LT_SIM_PULSE_BIPOLAR : LT_SIM_PULSE_GAUSS;
    pulse_queue(s, i, lo, hi);
}

void lt_sim_tail_add(struct lt_sim_cell *s, uint32_t channel, double start_sample, float amp,
                     double tau_samples)
{
    /* Rendered while |amp| exp(-t / tau) is at least the smallest pulse rendered. */
    double ratio = fabs((double)amp) / LT_SIM_MIN_PULSE_ADC;
    if (ratio <= 1.0 || tau_samples <= 0.0) return;
    double len = ceil(tau_samples * log(ratio));
    if (len > 65534.0) len = 65534.0;
    double lo = ceil(start_sample), hi = lo + len;
    if (!clip_window(s, &lo, hi)) return;
    uint32_t i = pulse_alloc(s);
    if (i == LT_SIM_NONE) return;
    struct lt_sim_pulse *p = &s->pool[i];
    p->center = (float)(start_sample - lo); /* <= 0: the tail's origin */
    p->amp = amp;
    p->inv_sigma = (float)(1.0 / tau_samples);
    p->channel = channel;
    p->shape = LT_SIM_PULSE_TAIL;
    pulse_queue(s, i, lo, hi);
}

static inline void touch(struct lt_sim_cell *s, uint32_t ch)
{
    if (!s->touched[ch]) {
        s->touched[ch] = 1;
        s->touched_list[s->n_touched++] = ch;
    }
}

/* The frame both renderers share: the pulses starting in this period join the active list, each
 * active pulse's overlap [k0, k1) with the period (absolute samples; the period starts at p0)
 * goes to body (only when not empty), and the pulses that end in this period return to the free
 * list. static inline with the bodies below as constants: the compiler inlines each body. */
typedef void (*pulse_body)(struct lt_sim_cell *s, const struct lt_sim_pulse *p, int64_t p0,
                           int64_t k0, int64_t k1, uint32_t d);

static inline void for_each_active_pulse(struct lt_sim_cell *s, uint64_t period_sample,
                                         pulse_body body, uint32_t d)
{
    uint32_t b = bucket_of(s, period_sample);
    for (uint32_t i = s->bucket[b]; i != LT_SIM_NONE; i = s->pool[i].next)
        s->active[s->n_active++] = i;
    s->bucket[b] = LT_SIM_NONE;

    const int64_t p0 = (int64_t)period_sample, p1 = p0 + LT_SAMPLES_PER_FRAME;
    uint32_t keep = 0;
    for (uint32_t a = 0; a < s->n_active; a++) {
        uint32_t i = s->active[a];
        struct lt_sim_pulse *p = &s->pool[i];
        int64_t end = p->first + p->n;
        int64_t k0 = p->first > p0 ? p->first : p0;
        int64_t k1 = end < p1 ? end : p1;
        if (k0 < k1) body(s, p, p0, k0, k1, d);
        if (end > p1) {
            s->active[keep++] = i;
        } else {
            p->next = s->free_head;
            s->free_head = i;
        }
    }
    s->n_active = keep;
}

/* A pulse's value at sample k (absolute). */
static inline float pulse_value(const struct lt_sim_pulse *p, int64_t k)
{
    float x = ((float)(k - p->first) - p->center) * p->inv_sigma;
    if (p->shape == LT_SIM_PULSE_BIPOLAR) /* lobes of +-amp at -+1 sigma */
        return p->amp * -x * expf(0.5f - 0.5f * x * x);
    if (p->shape == LT_SIM_PULSE_TAIL) return p->amp * expf(-x);
    return p->amp * expf(-0.5f * x * x);
}

/* The full render: every sample into the channel's signal row. */
static void body_samples(struct lt_sim_cell *s, const struct lt_sim_pulse *p, int64_t p0,
                         int64_t k0, int64_t k1, uint32_t d)
{
    (void)d;
    float *row = s->sig[p->channel];
    touch(s, p->channel);
    for (int64_t k = k0; k < k1; k++) row[k - p0] += pulse_value(p, k);
}

/* The fast path: column sums of 2^d samples into xs->sig (c * nx + wire); a channel with sticky
 * codes also keeps its per-sample row in sig[ch], since sticky codes act on single samples. An
 * undershoot tail's column sum is its geometric series in closed form, stepped from column to
 * column by one factor (the tails of big deposits last thousands of samples: most of the full
 * render's work). */
static void body_x_sums(struct lt_sim_cell *s, const struct lt_sim_pulse *p, int64_t p0, int64_t k0,
                        int64_t k1, uint32_t d)
{
    touch(s, p->channel);
    if (s->ch_defect[p->channel] == LT_SIM_CH_STICKY) body_samples(s, p, p0, k0, k1, d);
    const struct lt_sim_xs *xs = s->xs;
    float *col = xs->sig + (p->channel - xs->x0); /* column c at col[c * nx] */
    const int64_t n = (int64_t)1 << d;
    if (p->shape != LT_SIM_PULSE_TAIL) {
        for (int64_t k = k0; k < k1; k++) col[((k - p0) >> d) * xs->nx] += pulse_value(p, k);
        return;
    }
    /* sum_{k=c0}^{c1-1} v(k) = v(c0) (1 - r^(c1-c0)) / (1 - r), r = exp(-1/tau). */
    const double r = exp(-(double)p->inv_sigma), g = 1.0 / (1.0 - r);
    const double rn = exp(-(double)p->inv_sigma * (double)n); /* a whole column's factor */
    double v = (double)p->amp * exp(-((double)(k0 - p->first) - p->center) * p->inv_sigma);
    for (int64_t c0 = k0; c0 < k1;) {
        int64_t c = (c0 - p0) >> d, c1 = p0 + (c + 1) * n;
        if (c1 > k1) c1 = k1;
        double rm = c1 - c0 == n ? rn : pow(r, (double)(c1 - c0)); /* r^(c1 - c0) */
        col[c * xs->nx] += (float)(v * (1.0 - rm) * g);
        v *= rm;
        c0 = c1;
    }
}

void lt_sim_signal_render(struct lt_sim_cell *s, uint64_t period_sample)
{
    for_each_active_pulse(s, period_sample, body_samples, 0);
}

void lt_sim_signal_render_x_sums(struct lt_sim_cell *s, uint64_t period_sample, uint32_t d)
{
    for_each_active_pulse(s, period_sample, body_x_sums, d);
}
