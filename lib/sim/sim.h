/* The detector simulator: continuous raw data of one cell (APA), one WIBEth frame period at a time.
 *
 * A cell renders the next 64 samples of all its channels into adc[offline_channel][64] (pedestal +
 * white noise + coherent noise per front-end board + the signals of the deposits injected so far)
 * and packs them into its 2*n_fembs WIBEth frames through the channel map. The same object serves
 * `trigctl sim` (run files) and the daemon (a live source), so the per-frame call allocates
 * nothing.
 *
 * Backgrounds and detector effects beyond 39Ar and white noise (42Ar/42K, 85Kr, the 222Rn chain,
 * neutron captures; a per-channel low-frequency noise component; dead, noisy and sticky-code
 * channels; the RC undershoot after collection pulses) are knobs of lt_sim_config with defaults
 * from DUNE / ProtoDUNE publications (docs/simulation.md), settable by name (lt_sim_config_set).
 *
 * Determinism: everything is a function of (seed, cell, config). Each background kind draws its
 * events from its own random stream, and the noise of a frame is seeded from the frame's
 * timestamp, so the output does not depend on how a caller chunks the run, and disabling one kind
 * (rate 0) leaves the events of the others unchanged.
 *
 * Geometry (toy, see docs/simulation.md): a cell is one box of liquid argon in front of its wire
 * planes: x = drift distance to the wires [0, LT_SIM_DRIFT_MM], y = along the collection wires
 * [0, LT_SIM_HEIGHT_MM], z = across the collection wires [0, n_X * LT_SIM_PITCH_X_MM). The two
 * faces of a real APA are unfolded side by side, so a full cell is 2 x 69 t of argon. Induction
 * wires are inclined by +-LT_SIM_WIRE_ANGLE_DEG and wrap around (wire index modulo the plane's
 * wire count), like the wrapped induction wires of an APA. */
#ifndef LARTRIG_SIM_H
#define LARTRIG_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "chmap.h"
#include "ticks.h"
#include "truth.h"
#include "wibeth.h"

/* Geometry and drift constants (sources in docs/simulation.md). */
#define LT_SIM_DRIFT_MM          3600.0 /* maximum drift distance: 2.25 ms x 1.6 mm/us */
#define LT_SIM_HEIGHT_MM         6000.0 /* APA height (wire length direction of X) */
#define LT_SIM_PITCH_X_MM        4.79   /* collection wire pitch */
#define LT_SIM_PITCH_UV_MM       4.669  /* induction wire pitch */
#define LT_SIM_WIRE_ANGLE_DEG    35.7   /* induction wire angle to the collection wires */
#define LT_SIM_DRIFT_MM_PER_US   1.6    /* electron drift velocity at 500 V/cm */
#define LT_SIM_LAR_DENSITY_KG_M3 1395.4

/* Event topologies for injection (generated events pick one at random). */
enum lt_sim_topology {
    LT_SIM_TOPO_AUTO = 0,   /* whatever the kind's generator picks */
    LT_SIM_TOPO_TRACK = 1,  /* a straight minimum-ionising track of length E / (dE/dx) */
    LT_SIM_TOPO_SHOWER = 2, /* an electromagnetic shower of energy E */
    LT_SIM_TOPO_POINT = 3,  /* all energy at one point (a blip) */
};

struct lt_sim_config {
    uint64_t seed;
    uint32_t n_fembs;     /* boards per cell, 1..20 (channels = 128 * n_fembs) */
    lt_ticks start_ticks; /* timestamp of the first frame; a multiple of LT_TICKS_PER_SAMPLE */

    /* Electronics */
    double pedestal_collection; /* mean pedestal (ADC) of X channels */
    double pedestal_induction;  /* mean pedestal (ADC) of U and V channels */
    double pedestal_spread;     /* channel-to-channel rms of the pedestal (ADC) */
    double noise_collection;    /* white noise rms (ADC) on X channels */
    double noise_induction;     /* white noise rms (ADC) on U and V channels */
    double coherent_noise;      /* rms (ADC) of the noise common to the 128 channels of a board */
    double coherent_tau_us;     /* correlation time of the coherent noise */
    double gain_e_per_adc;      /* electrons per ADC count of peak (point charge, collection) */
    double shaping_sigma_us;    /* Gaussian width of the electronics response */
    double induction_ratio;     /* induction lobe peak / collection peak for the same charge */
    double lowfreq_noise;       /* rms (ADC) of a per-channel low-frequency component */
    double lowfreq_tau_us;      /* its correlation time */
    double undershoot_tau_us;   /* RC coupling of collection channels: undershoot decay; 0 = none */
    double undershoot_fraction; /* undershoot area / pulse area (1 = a plain CR coupling) */

    /* Channel defects: fractions of the channels, drawn per channel from (seed, cell) */
    double dead_fraction;  /* flat at the pedestal: no noise, no signal */
    double noisy_fraction; /* white noise x noisy_factor */
    double noisy_factor;
    double sticky_fraction;    /* ADC with sticky low 6 bits (codes ...000000 / ...111111) */
    double sticky_probability; /* fraction of a sticky channel's samples that stick */

    /* Drift */
    double electron_lifetime_us;
    double diffusion_long_cm2_s;
    double diffusion_trans_cm2_s;
    double recombination; /* fraction of ionisation electrons that escape recombination */
    double w_ion_ev;      /* energy per ionisation electron */

    /* Physics rates (per cell); 0 disables a kind */
    double ar39_bq_per_kg;
    double le_rate_hz, le_min_mev, le_max_mev;
    double he_rate_hz, he_min_mev, he_max_mev;
    double cosmic_rate_hz;
    double ar42_bq_per_kg;        /* 42Ar in the argon */
    double k42_in_argon_fraction; /* of its 42K daughters decaying in the argon (rest: cathode) */
    double kr85_bq_per_kg;
    double rn222_bq_per_kg;    /* 222Rn; its short-lived daughters follow (docs) */
    double alpha_charge_ratio; /* free charge per MeV of an alpha / of an electron (quenching) */
    double ncapture_rate_hz;   /* neutron captures on argon per cell per second */

    /* Bounds (preallocated at create; overflow is counted, never silent) */
    uint32_t max_pulses;     /* pending signal pulses */
    uint32_t truth_capacity; /* truth rows not yet taken by the caller; 0 = keep none */
};

/* Fill c with the documented defaults (docs/simulation.md). */
void lt_sim_config_default(struct lt_sim_config *c);
/* Set one floating-point knob by name ("ar42_bq_per_kg", "noise_collection", ...: the field
 * names of lt_sim_config); LT_ENOTFOUND for an unknown name, LT_EINVAL out of its range. The
 * table of knobs (name, range, meaning) is the one place that lists them. */
int lt_sim_config_set(struct lt_sim_config *c, const char *name, double value, char *err,
                      size_t errlen);
/* Read a knob by name; LT_ENOTFOUND for an unknown name. */
int lt_sim_config_get(const struct lt_sim_config *c, const char *name, double *value);
/* The i-th knob (NULL past the last): its name, meaning and range; for --help and docs. */
const char *lt_sim_knob(unsigned i, const char **meaning, double *lo, double *hi);
/* Multiply every noise component (white noise of both planes, board-coherent, low-frequency) by
 * f; then validate (0 or LT_EINVAL). */
int lt_sim_config_scale_noise(struct lt_sim_config *c, double f, char *err, size_t errlen);
/* Multiply every radiological activity (39Ar, 42Ar, 85Kr, 222Rn) and the neutron capture rate by
 * f; then validate. */
int lt_sim_config_scale_backgrounds(struct lt_sim_config *c, double f, char *err, size_t errlen);
/* Check ranges; 0 or LT_EINVAL with a message naming the field. */
int lt_sim_config_validate(const struct lt_sim_config *c, char *err, size_t errlen);

/* An event to inject at a given time. time = arrival at the wires of the charge closest to them
 * (this becomes the truth row's time). Without a vertex, the generator places the event at random
 * (from a random stream derived from the seed and the injection's parameters). */
struct lt_sim_event {
    uint32_t kind;     /* enum lt_truth_kind */
    uint32_t topology; /* enum lt_sim_topology */
    double energy_mev;
    lt_ticks time;
    int has_vertex; /* vertex_mm = (x, y, z) */
    double vertex_mm[3];
    int has_direction; /* direction (need not be normalised) */
    double direction[3];
};

struct lt_sim_stats {
    uint64_t frames; /* frame periods rendered */
    uint64_t events[LT_TRUTH_KIND_COUNT];
    uint64_t pulses;          /* signal pulses created */
    uint64_t pulses_dropped;  /* pool full: charge lost (logged, rate limited) */
    uint64_t truth_dropped;   /* truth queue full: rows lost (logged, rate limited) */
    uint64_t samples_clamped; /* ADC values clamped to 0..16383 */
};

struct lt_sim_cell;

int lt_sim_cell_create(const struct lt_sim_config *c, uint32_t cell, struct lt_sim_cell **out,
                       char *err, size_t errlen);
void lt_sim_cell_destroy(struct lt_sim_cell *s);

uint32_t lt_sim_cell_channels(const struct lt_sim_cell *s);
uint32_t lt_sim_cell_streams(const struct lt_sim_cell *s);
/* Timestamp of the first sample of the next frame period to render. */
lt_ticks lt_sim_cell_next_time(const struct lt_sim_cell *s);
void lt_sim_cell_stats(const struct lt_sim_cell *s, struct lt_sim_stats *out);
/* Pedestal (ADC, before rounding) the cell uses for an offline channel. */
double lt_sim_cell_pedestal(const struct lt_sim_cell *s, uint32_t offline_channel);

/* Render the next frame period: adc[offline channel][sample], 64 samples of every channel. */
void lt_sim_cell_render(struct lt_sim_cell *s, uint16_t (*adc)[LT_SAMPLES_PER_FRAME]);
/* Pack a rendered period into the cell's frames[0 .. streams-1] (stream order), with DAQEthHeader
 * timestamp = the period's first sample, seq_id counting frames mod 4096, det_id HD_TPC. Call it
 * after lt_sim_cell_render for that period (it takes the period's time from the render). */
void lt_sim_cell_pack(const struct lt_sim_cell *s, const uint16_t (*adc)[LT_SAMPLES_PER_FRAME],
                      lt_wibeth_frame *frames);

/* The fast background path (bench/bench_fakerate.c): render the next frame period as what the
 * trigger kernel reads of it, the collection-wire column sums: sums[c * stride + wire] = the sum of
 * the 2^d ADC samples of column c (c < 64 >> d) of collection wire `wire` (0 .. 48 * n_fembs - 1),
 * the same sums the kernel's preprocess makes from the frames (kernels/preprocess.h). Events,
 * their drift and their collection pulses (undershoot included) are the full simulation's;
 * induction pulses are not made. Simplified: the white noise of a column is one Gaussian draw
 * with the variance of the sum of 2^d rounded samples, 2^d (rms^2 + 1/12), instead of 2^d draws
 * each rounded; the low-frequency noise is summed from its linear interpolation exactly, the
 * board-coherent noise sample by sample; dead channels are flat; on sticky-code channels the
 * samples that stick are rendered one by one as in the full path; no 14-bit clamp except on the
 * sum (why this is the same sum: lib/sim/sim_xsums.c; docs/simulation.md "The fast background
 * path"; tests/sim/test_sim_xsums.c compares it with the full render). Noise streams are its own: the values differ from lt_sim_cell_render's, the
 * statistics do not. A cell is rendered one way only: LT_EINVAL when the full render was used
 * first (and lt_sim_cell_render of a fast cell writes zeros), or for d > 6 or a stride below the
 * wire count. Allocates nothing. */
int lt_sim_cell_render_x_sums(struct lt_sim_cell *s, uint32_t d, uint32_t *sums, size_t stride);

/* Queue an event. Its time must not precede the next frame period (LT_ERANGE); at most
 * LT_SIM_MAX_INJECT may wait (LT_EFULL). */
#define LT_SIM_MAX_INJECT 1024U
int lt_sim_cell_inject(struct lt_sim_cell *s, const struct lt_sim_event *ev, char *err,
                       size_t errlen);

/* Move up to max truth rows (in generation order) to out; returns how many. A row appears no
 * later than the frame period holding the start of its signal. */
size_t lt_sim_cell_take_truth(struct lt_sim_cell *s, struct lt_truth *out, size_t max);

/* Geometry helpers (also used by tests and tools to predict where an event shows up). */
/* Continuous wire coordinate (in wire pitches, not wrapped) of a point (y, z) on a plane. */
double lt_sim_wire_coord(enum lt_plane p, double y_mm, double z_mm);
/* Wire hit by a point, wrapped into 0..n-1 for induction planes; -1 outside a collection plane. */
int32_t lt_sim_wire_of(const struct lt_cell_geom *g, enum lt_plane p, double y_mm, double z_mm);
/* Argon mass (kg) a cell with g's boards sees. */
double lt_sim_cell_mass_kg(const struct lt_cell_geom *g);
/* Width (mm) of a cell along z. */
static inline double lt_sim_cell_width_mm(const struct lt_cell_geom *g)
{
    return lt_geom_wires(g, LT_PLANE_X) * LT_SIM_PITCH_X_MM;
}

#endif
