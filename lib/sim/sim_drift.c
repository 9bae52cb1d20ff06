/* From an energy deposit to pulses on the wires: recombination and W-value give the charge,
 * drifting attenuates it (electron lifetime) and spreads it (longitudinal diffusion in time,
 * transverse diffusion across wires), and each plane turns its share into a pulse: unipolar on
 * collection, bipolar on induction. */
#include <math.h>

#include "sim_internal.h"

static const double deg = M_PI / 180.0;

double lt_sim_wire_coord(enum lt_plane p, double y_mm, double z_mm)
{
    double c = cos(LT_SIM_WIRE_ANGLE_DEG * deg), sn = sin(LT_SIM_WIRE_ANGLE_DEG * deg);
    switch (p) {
    case LT_PLANE_U:
        return (z_mm * c - y_mm * sn) / LT_SIM_PITCH_UV_MM;
    case LT_PLANE_V:
        return (z_mm * c + y_mm * sn) / LT_SIM_PITCH_UV_MM;
    default:
        return z_mm / LT_SIM_PITCH_X_MM;
    }
}

static int32_t wrap_wire(int64_t w, uint32_t n, enum lt_plane p)
{
    if (p == LT_PLANE_X) return (w < 0 || w >= (int64_t)n) ? -1 : (int32_t)w;
    int64_t m = w % (int64_t)n;
    return (int32_t)(m < 0 ? m + n : m);
}

int32_t lt_sim_wire_of(const struct lt_cell_geom *g, enum lt_plane p, double y_mm, double z_mm)
{
    return wrap_wire((int64_t)floor(lt_sim_wire_coord(p, y_mm, z_mm)), lt_geom_wires(g, p), p);
}

double lt_sim_cell_mass_kg(const struct lt_cell_geom *g)
{
    return LT_SIM_DRIFT_MM * LT_SIM_HEIGHT_MM * lt_sim_cell_width_mm(g) * 1e-9 *
           LT_SIM_LAR_DENSITY_KG_M3;
}

void lt_sim_drift_deposit(struct lt_sim_cell *s, const struct lt_sim_step *st,
                          double t_arrival_ticks)
{
    const struct lt_sim_config *c = &s->cfg;
    double x = st->x < 0.0f ? 0.0 : st->x;
    double t_us = x / LT_SIM_DRIFT_MM_PER_US;
    double q = st->e_mev * s->electrons_per_mev * exp(-t_us / c->electron_lifetime_us);
    /* D in cm^2/s is 1e-4 mm^2/us; sigma = sqrt(2 D t). */
    double sig_l_us = sqrt(2.0 * c->diffusion_long_cm2_s * 1e-4 * t_us) / LT_SIM_DRIFT_MM_PER_US;
    double sig_t_mm = sqrt(2.0 * c->diffusion_trans_cm2_s * 1e-4 * t_us);
    double sig_us = sqrt(c->shaping_sigma_us * c->shaping_sigma_us + sig_l_us * sig_l_us);
    double narrowing = c->shaping_sigma_us / sig_us; /* peak falls as the charge spreads */
    double sig_samples = sig_us * (double)LT_SAMPLE_RATE_HZ * 1e-6;
    double center = t_arrival_ticks / (double)LT_TICKS_PER_SAMPLE;
    double peak_per_e = 1.0 / c->gain_e_per_adc;
    double tail_tau = c->undershoot_fraction > 0.0
                          ? c->undershoot_tau_us * (double)LT_SAMPLE_RATE_HZ * 1e-6
                          : 0.0;

    /* The fast background path renders the collection plane only: no induction pulses. */
    for (int p = s->x_only ? LT_PLANE_X : 0; p < 3; p++) {
        double pitch = p == LT_PLANE_X ? LT_SIM_PITCH_X_MM : LT_SIM_PITCH_UV_MM;
        double wc = lt_sim_wire_coord((enum lt_plane)p, st->y, st->z);
        double sw = sig_t_mm / pitch;
        int bipolar = p != LT_PLANE_X;
        /* Induction: the lobes are the derivative of the collection shape, so they fall as the
         * square of the narrowing factor; induction_ratio sets their size for a point charge. */
        double amp_per_e = bipolar ? c->induction_ratio * peak_per_e * narrowing * narrowing
                                   : peak_per_e * narrowing;
        int64_t w0, w1;
        if (sw < 0.02) {
            w0 = w1 = (int64_t)floor(wc);
        } else {
            w0 = (int64_t)floor(wc - 3.0 * sw);
            w1 = (int64_t)floor(wc + 3.0 * sw);
        }
        for (int64_t w = w0; w <= w1; w++) {
            double frac = 1.0;
            if (w0 != w1) {
                double a = ((double)w - wc) / (sw * M_SQRT2),
                       b = ((double)w + 1.0 - wc) / (sw * M_SQRT2);
                frac = 0.5 * (erf(b) - erf(a));
            }
            double amp = q * frac * amp_per_e;
            if (amp < LT_SIM_MIN_PULSE_ADC) continue;
            int32_t wire = wrap_wire(w, s->n_wires[p], (enum lt_plane)p);
            if (wire < 0) continue;
            lt_sim_pulse_add(s, s->plane_first[p] + (uint32_t)wire, center, (float)amp, sig_samples,
                             bipolar);
            /* The RC coupling of the collection chain: an undershoot after the pulse whose area
             * is undershoot_fraction of the pulse's (a plain CR high-pass gives back all of it).
             * Induction pulses have no net area, so no undershoot to first order. */
            if (!bipolar && tail_tau > 0.0)
                lt_sim_tail_add(
                    s, s->plane_first[p] + (uint32_t)wire, center,
                    (float)(-c->undershoot_fraction * amp * sig_samples * 2.5066283 / tail_tau),
                    tail_tau);
        }
    }
}
