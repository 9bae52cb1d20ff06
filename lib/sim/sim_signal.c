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

void lt_sim_signal_render(struct lt_sim_cell *s, uint64_t period_sample)
{
    /* Pulses starting in this period join the active list. */
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
        if (k0 < k1) {
            float *row = s->sig[p->channel];
            touch(s, p->channel);
            for (int64_t k = k0; k < k1; k++) {
                float x = ((float)(k - p->first) - p->center) * p->inv_sigma;
                if (p->shape == LT_SIM_PULSE_BIPOLAR) /* lobes of +-amp at -+1 sigma */
                    row[k - p0] += p->amp * -x * expf(0.5f - 0.5f * x * x);
                else if (p->shape == LT_SIM_PULSE_TAIL)
                    row[k - p0] += p->amp * expf(-x);
                else
                    row[k - p0] += p->amp * expf(-0.5f * x * x);
            }
        }
        if (end > p1) {
            s->active[keep++] = i;
        } else {
            p->next = s->free_head;
            s->free_head = i;
        }
    }
    s->n_active = keep;
}

/* The fast background path (lt_sim_cell_render_x_sums): the active pulses of this period summed
 * over columns of 2^d samples, sig[ch][c] for c < 64 >> d; a channel with sticky codes
 * (per_sample[ch] != 0) keeps its per-sample row, since sticky codes act on single samples. An
 * undershoot tail's column sum is its geometric series in closed form (the tails of big deposits
 * last thousands of samples: most of the full render's work). */
void lt_sim_signal_render_x_sums(struct lt_sim_cell *s, uint64_t period_sample, uint32_t d)
{
    uint32_t b = bucket_of(s, period_sample);
    for (uint32_t i = s->bucket[b]; i != LT_SIM_NONE; i = s->pool[i].next)
        s->active[s->n_active++] = i;
    s->bucket[b] = LT_SIM_NONE;

    const int64_t p0 = (int64_t)period_sample, p1 = p0 + LT_SAMPLES_PER_FRAME;
    const int64_t n = 1 << d;
    uint32_t keep = 0;
    for (uint32_t a = 0; a < s->n_active; a++) {
        uint32_t i = s->active[a];
        struct lt_sim_pulse *p = &s->pool[i];
        int64_t end = p->first + p->n;
        int64_t k0 = p->first > p0 ? p->first : p0;
        int64_t k1 = end < p1 ? end : p1;
        if (k0 < k1) {
            float *row = s->sig[p->channel];
            touch(s, p->channel);
            const int per_sample = s->ch_defect[p->channel] == LT_SIM_CH_STICKY;
            if (p->shape == LT_SIM_PULSE_TAIL && !per_sample) {
                double r = exp(-(double)p->inv_sigma);
                for (int64_t c0 = k0; c0 < k1;) {
                    int64_t col = (c0 - p0) / n, c1 = p0 + (col + 1) * n;
                    if (c1 > k1) c1 = k1;
                    double first =
                        (double)p->amp * exp(-((double)(c0 - p->first) - p->center) * p->inv_sigma);
                    row[col] += (float)(first * (1.0 - pow(r, (double)(c1 - c0))) / (1.0 - r));
                    c0 = c1;
                }
            } else {
                for (int64_t k = k0; k < k1; k++) {
                    float x = ((float)(k - p->first) - p->center) * p->inv_sigma;
                    float v;
                    if (p->shape == LT_SIM_PULSE_BIPOLAR)
                        v = p->amp * -x * expf(0.5f - 0.5f * x * x);
                    else if (p->shape == LT_SIM_PULSE_TAIL)
                        v = p->amp * expf(-x);
                    else
                        v = p->amp * expf(-0.5f * x * x);
                    row[per_sample ? k - p0 : (k - p0) / n] += v;
                }
            }
        }
        if (end > p1) {
            s->active[keep++] = i;
        } else {
            p->next = s->free_head;
            s->free_head = i;
        }
    }
    s->n_active = keep;
}
