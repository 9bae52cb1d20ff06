/* Private parts of the simulator shared by lib/sim_*.c: the random number generators, the pulse
 * pool that holds pending signals, and the cell state. Not a public API. */
#ifndef LARTRIG_SIM_INTERNAL_H
#define LARTRIG_SIM_INTERNAL_H

#include <stdint.h>

#include "sim.h"

/* ---- random numbers ------------------------------------------------------------------------ */

/* xoshiro256** (Blackman & Vigna): fast, 256-bit state, passes BigCrush; seeded via splitmix64
 * as its authors recommend, so nearby seeds give unrelated streams. */
struct lt_sim_rng {
    uint64_t s[4];
};

static inline uint64_t lt_sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A well-mixed 64-bit key from a few words (a stream's identity: seed, cell, purpose, index). */
static inline uint64_t lt_sim_mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t x = a;
    uint64_t h = lt_sim_splitmix64(&x);
    x = h ^ b;
    h = lt_sim_splitmix64(&x);
    x = h ^ c;
    h = lt_sim_splitmix64(&x);
    x = h ^ d;
    return lt_sim_splitmix64(&x);
}

static inline void lt_sim_rng_seed(struct lt_sim_rng *r, uint64_t key)
{
    for (int i = 0; i < 4; i++) r->s[i] = lt_sim_splitmix64(&key);
}

static inline uint64_t lt_sim_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t lt_sim_rng_next(struct lt_sim_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = lt_sim_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lt_sim_rotl(s[3], 45);
    return result;
}

/* Uniform in the open interval (0, 1): never 0, so log() is safe. */
static inline double lt_sim_uniform(struct lt_sim_rng *r)
{
    return ((double)(lt_sim_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double lt_sim_normal(struct lt_sim_rng *r);                 /* exact N(0,1) (polar method) */
double lt_sim_exponential(struct lt_sim_rng *r);            /* mean 1 */
double lt_sim_gamma(struct lt_sim_rng *r, double shape);    /* scale 1 (Marsaglia-Tsang) */
void lt_sim_isotropic(struct lt_sim_rng *r, double dir[3]); /* unit vector */

/* The noise table: LT_SIM_NORMAL_TABLE_SIZE quantiles of N(0,1) in units of
 * 1/LT_SIM_NORMAL_TABLE_ONE, indexed by 16 random bits. Built once, read-only afterwards. */
#define LT_SIM_NORMAL_TABLE_BITS  16
#define LT_SIM_NORMAL_TABLE_SIZE  (1U << LT_SIM_NORMAL_TABLE_BITS)
#define LT_SIM_NORMAL_TABLE_SHIFT 12
#define LT_SIM_NORMAL_TABLE_ONE   (1 << LT_SIM_NORMAL_TABLE_SHIFT)
const int16_t *lt_sim_normal_table(void);
/* Table entries equal to LT_SIM_NORMAL_TAIL mark the two outermost bins: draw the value from
 * lt_sim_normal_tail (exact Gaussian tail, table units, random sign) instead. */
#define LT_SIM_NORMAL_TAIL INT16_MIN
int32_t lt_sim_normal_tail(struct lt_sim_rng *r);

/* The fast path's noise table (sim_xsums_body.h): LT_SIM_XS_TABLE_SIZE bins of equal
 * probability of N(0,1), entry i = (q_(i+1) - q_i) << 16 | (uint16_t)q_i in table units (the
 * bin's lower quantile and its width): a draw is q_i + (width x f) >> 12 with 12 random bits f.
 * Entries 0 and N-1 hold the sentinel LT_SIM_NORMAL_TAIL as q_i: draw lt_sim_xs_tail (exactly the
 * Gaussian beyond, negative for entry 0) instead. Built once, read-only afterwards. */
#define LT_SIM_XS_TABLE_BITS 12
#define LT_SIM_XS_TABLE_SIZE (1U << LT_SIM_XS_TABLE_BITS)
const int32_t *lt_sim_xs_table(void);
int32_t lt_sim_xs_tail(struct lt_sim_rng *r, int negative);

/* A standard normal in table units from 16 random bits; the rare outermost bins are drawn
 * exactly from the tail with r2. */
static inline int32_t lt_sim_table_z(const int16_t *tab, uint16_t idx, struct lt_sim_rng *r2)
{
    int32_t z = tab[idx];
    if (__builtin_expect(z == LT_SIM_NORMAL_TAIL, 0)) z = lt_sim_normal_tail(r2);
    return z;
}

/* Salts of the noise streams both renders name (sim_noise.c, sim_xsums.c). */
#define LT_SIM_SALT_TAIL   0x7461696c73ULL
#define LT_SIM_SALT_STICKY 0x737469636bULL

/* Samples are fixed point in 1/256 ADC (LT_SIM_Q_SHIFT bits) until the final rounding. */
#define LT_SIM_Q_SHIFT 8

/* v in 1/256 ADC with the rounding half already added -> 14-bit ADC value, clamping counted.
 * >> of a negative value is arithmetic in gcc and clang. */
static inline uint16_t lt_sim_to_adc(int32_t v, uint64_t *clamped)
{
    int32_t a = v >> LT_SIM_Q_SHIFT;
    *clamped += (uint64_t)((a < 0) | (a > (int32_t)LT_WIBETH_ADC_MAX));
    a = a < 0 ? 0 : a;
    a = a > (int32_t)LT_WIBETH_ADC_MAX ? (int32_t)LT_WIBETH_ADC_MAX : a;
    return (uint16_t)a;
}

/* An ADC sticky code (ProtoDUNE-SP): the 6 least significant bits stuck at 000000 or 111111,
 * whichever is nearer. */
static inline uint16_t lt_sim_sticky_snap(uint16_t v)
{
    return (v & 63U) < 32U ? (uint16_t)(v & ~63U) : (uint16_t)(v | 63U);
}

/* ---- pending signals ----------------------------------------------------------------------- */

/* One shaped pulse on one channel: a Gaussian (collection) or the bipolar derivative-of-Gaussian
 * shape (induction), with amplitude in ADC counts. Pulses wait in a bucket of the frame period
 * holding their first sample, then stay active until their last sample is rendered. */
struct lt_sim_pulse {
    int64_t first;    /* first sample (absolute sample index) */
    float center;     /* peak position relative to first, in samples */
    float amp;        /* ADC counts at the peak (unipolar) or at each lobe (bipolar) */
    float inv_sigma;  /* 1 / width in samples */
    uint32_t channel; /* offline channel */
    uint32_t next;    /* bucket list link */
    uint16_t n;       /* samples covered */
    uint8_t shape;    /* enum lt_sim_pulse_shape */
};

enum lt_sim_pulse_shape {
    LT_SIM_PULSE_GAUSS = 0,   /* collection: amp at center */
    LT_SIM_PULSE_BIPOLAR = 1, /* induction: lobes of +-amp at -+1 sigma */
    LT_SIM_PULSE_TAIL = 2,    /* RC undershoot: amp * exp(-(k - center) / tau), inv_sigma = 1/tau */
};

#define LT_SIM_NONE          UINT32_MAX
#define LT_SIM_BUCKETS       256U   /* frame periods ahead a pulse may start: 8.4 ms > max drift */
#define LT_SIM_LOOKAHEAD     64U    /* samples beyond the frame period for which events are made */
#define LT_SIM_PULSE_SIGMAS  4.0    /* half-width of a rendered pulse, in widths */
#define LT_SIM_MAX_STEPS     65536U /* energy deposits per event (steps of tracks, shower points) */
#define LT_SIM_MIN_PULSE_ADC 0.05   /* pulses below this are not worth rendering (noise ~3 ADC) */

/* One energy deposit of an event, before drifting. */
struct lt_sim_step {
    float x, y, z; /* mm */
    float e_mev;
};

struct lt_sim_kind_stream {
    struct lt_sim_rng rng;
    double mean_gap_ticks; /* 1 / rate, 0 when disabled */
    double next_ticks;     /* arrival time of the next event, ticks since start_ticks */
};

struct lt_sim_cell {
    struct lt_sim_config cfg;
    uint32_t cell;
    struct lt_cell_geom geom;
    uint32_t n_channels, n_streams;
    uint32_t n_wires[3];
    uint32_t plane_first[3]; /* offline channel of wire 0 of each plane */
    double width_mm, mass_kg;

    /* per offline channel */
    int32_t *ped_q;    /* pedestal in 1/256 ADC, + 128 for rounding */
    double *ped;       /* pedestal in ADC (for callers and tests) */
    uint8_t *ch_plane; /* enum lt_plane */
    uint8_t *ch_femb;
    int32_t *noise_ch_q; /* white noise rms per channel in 1/256 ADC (noisy channels more) */
    uint8_t *ch_defect;  /* enum lt_sim_defect per channel */
    const int16_t *normal;

    /* low-frequency noise: an AR(1) per channel stepped once per period, interpolated within */
    double lf_a, lf_b;
    double *lf_state;
    int32_t *lf_q, *lf_d; /* this period's start value and change, 1/256 ADC */
    int lf_started;

    /* per stream: the offline channel of each of its 64 channels, and its address */
    uint16_t *stream_offline; /* [n_streams][64] */
    uint16_t *stream_crate;
    uint8_t *stream_slot, *stream_eth;

    /* coherent noise: an AR(1) process per board, carried across frame periods */
    double coh_a, coh_b;
    double *coh_state;
    int32_t (*coh_q)[LT_SAMPLES_PER_FRAME]; /* [n_fembs][64] in 1/256 ADC */
    int coh_started;

    /* time */
    uint64_t start_sample;
    uint64_t next_sample;   /* first sample of the next period to render */
    uint64_t period_sample; /* first sample of the last rendered period (for pack) */
    uint64_t period_index;  /* periods rendered so far, before the last one */

    /* derived physics constants */
    double electrons_per_mev; /* ionisation electrons surviving recombination, per MeV */
    double sigma_e_samples;
    double ar39_pmax;
    double beta_pmax[8]; /* rejection bounds of the other beta spectra (sim_physics.c) */

    struct lt_sim_kind_stream kinds[LT_TRUTH_KIND_COUNT];
    struct lt_sim_event *inject; /* sorted by time */
    uint32_t n_inject;
    uint64_t inject_serial;

    struct lt_sim_step *steps;
    uint32_t n_steps;
    uint64_t steps_dropped;

    struct lt_sim_pulse *pool;
    uint32_t pool_cap, free_head, pool_used; /* pool_used: entries ever handed out */
    uint32_t bucket[LT_SIM_BUCKETS];
    uint32_t *active;
    uint32_t n_active;

    float (*sig)[LT_SAMPLES_PER_FRAME]; /* [n_channels][64], zero except touched rows */
    uint8_t *touched;
    uint32_t *touched_list;
    uint32_t n_touched;

    struct lt_truth *truth; /* ring */
    uint32_t truth_head, truth_count;

    struct lt_sim_stats stats;

    /* The fast background path (lt_sim_cell_render_x_sums, sim_xsums.c): collection pulses
     * only; its own state below. */
    int x_only;
    struct lt_sim_xs *xs;
};

/* sim_drift.c: drift one deposit to the wire planes and queue its pulses. t_arrival_ticks is the
 * time its charge reaches the wires (before diffusion), in ticks since start_ticks: relative, so a
 * double keeps sub-tick precision even with DUNE-size absolute timestamps (~1e17 ticks). */
void lt_sim_drift_deposit(struct lt_sim_cell *s, const struct lt_sim_step *st,
                          double t_arrival_ticks);
/* sim_signal.c: pulse pool and rendering of the active pulses into s->sig. */
/* center_sample is relative to start_sample, like the times above. */
void lt_sim_pulse_add(struct lt_sim_cell *s, uint32_t channel, double center_sample, float amp,
                      double sigma_samples, int bipolar);
/* An RC undershoot: amp (negative) decaying with tau from start_sample, rendered while it is
 * above the smallest pulse worth rendering. */
void lt_sim_tail_add(struct lt_sim_cell *s, uint32_t channel, double start_sample, float amp,
                     double tau_samples);
void lt_sim_signal_render(struct lt_sim_cell *s, uint64_t period_sample);
/* The same for the fast path: column sums of 2^d samples in xs->sig[c * nx + wire], except on
 * sticky-code channels (per sample in sig[ch], as above). */
void lt_sim_signal_render_x_sums(struct lt_sim_cell *s, uint64_t period_sample, uint32_t d);
void lt_sim_pulses_reset(struct lt_sim_cell *s);
/* sim_noise.c */
void lt_sim_noise_init(struct lt_sim_cell *s);
void lt_sim_noise_render(struct lt_sim_cell *s, uint64_t period_sample,
                         uint16_t (*adc)[LT_SAMPLES_PER_FRAME]);

/* sim_physics.c: fill s->steps for an event; returns the energy requested of the generator. */
void lt_sim_physics_generate(struct lt_sim_cell *s, struct lt_sim_rng *r,
                             const struct lt_sim_event *ev);
double lt_sim_ar39_energy(struct lt_sim_cell *s, struct lt_sim_rng *r);
double lt_sim_ar39_pmax(void);                /* rejection bound of the beta spectrum */
void lt_sim_beta_init(struct lt_sim_cell *s); /* beta_pmax of the other emitters */
/* Rates (Bq) of the radiological kinds beyond 39Ar in a cell: every member of a chain counted. */
double lt_sim_radiological_rate(const struct lt_sim_config *c, uint32_t kind, double mass_kg);
/* sim_knobs.c */
int lt_sim_knobs_validate(const struct lt_sim_config *c, char *err, size_t errlen);

enum lt_sim_defect { LT_SIM_CH_OK = 0, LT_SIM_CH_DEAD, LT_SIM_CH_NOISY, LT_SIM_CH_STICKY };
/* sim_event.c: turn s->steps into pulses and a truth row. */
void lt_sim_event_emit(struct lt_sim_cell *s, uint32_t kind, lt_ticks time);
void lt_sim_events_until(struct lt_sim_cell *s, uint64_t horizon_sample);

/* ---- the fast background path (sim_xsums.c) -------------------------------------------------- */

#define LT_SIM_XS_LANES 8 /* lanes of the vector generator and of every vector below */
#define LT_SIM_XS_FEMBS                                                                            \
    ((LT_FEMBS_PER_CELL + LT_SIM_XS_LANES - 1) / LT_SIM_XS_LANES * LT_SIM_XS_LANES)
_Static_assert(LT_X_PER_FEMB % LT_SIM_XS_LANES == 0, "a lane block of wires is on one board");

/* The fast path's state: per collection wire (nx of them) and per board. */
struct lt_sim_xs {
    uint32_t nx, x0; /* collection wires, offline channel of wire 0 */
    uint32_t d;      /* the column length 2^d ibase and sgf hold; UINT32_MAX before the first */
    int coh_started, lf_started;
    float *sig;     /* [64 * nx]: this period's collection signal, column c of wire j at
                     * c * nx + j, ADC; zero except on touched wires (cleared after use) */
    int32_t *ibase; /* [nx] (pedestal - 1/2) x 2^d in 1/256 ADC (the 1/2 comes back as rounding) */
    float *sgf;     /* [nx] white-noise rms of a column sum, 1/256 ADC */
    float *lf_st;   /* [nx] low-frequency AR(1) state, ADC */
    int32_t *lf0, *lfd;      /* [nx] this period's low-frequency start and change, 1/256 ADC */
    uint32_t *dead, *sticky; /* wire lists */
    uint32_t n_dead, n_sticky;
    float coh_st[LT_SIM_XS_FEMBS];                        /* coherent AR(1) state per board, ADC */
    float coh[LT_SAMPLES_PER_FRAME][LT_SIM_XS_FEMBS];     /* per sample, 1/256 ADC */
    float coh_col[LT_SAMPLES_PER_FRAME][LT_SIM_XS_FEMBS]; /* per column, 1/256 ADC */
    uint32_t stuck_cdf[LT_SAMPLES_PER_FRAME]; /* P(<= m samples of a period stick), 2^-32 */
    float sqrt_n[LT_SAMPLES_PER_FRAME + 1];   /* sqrt(0 .. 64) */
    int avx2; /* the AVX2 build of the noise loop runs (same values as the generic one) */
};
int lt_sim_xs_create(struct lt_sim_cell *s);
void lt_sim_xs_destroy(struct lt_sim_cell *s);
/* The noise of a period and the column sums (sim.h, lt_sim_cell_render_x_sums), the signal of
 * xs->sig and the sticky channels' rows added and cleared. */
void lt_sim_xs_render(struct lt_sim_cell *s, uint64_t period_sample, uint32_t d, uint32_t *sums,
                      size_t stride);
/* Tests: 1 runs the generic build of the noise loop even where AVX2 is there. */
void lt_sim_xs_force_generic(struct lt_sim_cell *s, int on);

#endif
