/* Event generators: each turns (kind, topology, energy, optional vertex/direction) into energy
 * deposits (steps) inside the cell's argon box. Toy physics with the right magnitudes: constant
 * dE/dx tracks, multiple scattering for low-energy electrons, longitudinal Gamma / transverse
 * exponential profiles for electromagnetic showers, an allowed beta spectrum for 39Ar.
 * Constants and their sources are in docs/simulation.md. */
#include <math.h>

#include "sim_internal.h"

#define MIP_MEV_PER_MM       0.2120 /* PDG: minimum dE/dx of LAr 1.519 MeV cm2/g x 1.3954 g/cm3 */
#define PROTON_MEV_PER_MM    1.0    /* stopping protons average ~10 MeV/cm over their range */
#define X0_MM                140.0  /* PDG: LAr radiation length 14.0 cm */
#define MOLIERE_MM           90.43  /* PDG: LAr Moliere radius 9.043 cm */
#define E_CRIT_MEV           32.84  /* PDG: LAr critical energy for electrons */
#define STEP_MM              1.0    /* track step: finer than a wire pitch and a sample (0.82 mm) */
#define AR39_Q_MEV           0.565  /* 39Ar beta endpoint */
#define ELECTRON_MASS_MEV    0.51099895
#define HADRON_MAX_MEV       300.0 /* energy per proton-like stub of a hadronic system */
#define SHOWER_MEV_PER_POINT 1.0
#define SHOWER_MAX_POINTS    16000U

static int inside(const struct lt_sim_cell *s, double x, double y, double z)
{
    return x >= 0.0 && x < LT_SIM_DRIFT_MM && y >= 0.0 && y < LT_SIM_HEIGHT_MM && z >= 0.0 &&
           z < s->width_mm;
}

static void add_step(struct lt_sim_cell *s, double x, double y, double z, double e)
{
    if (!inside(s, x, y, z) || e <= 0.0) return;
    if (s->n_steps >= LT_SIM_MAX_STEPS) {
        s->steps_dropped++;
        return;
    }
    s->steps[s->n_steps++] = (struct lt_sim_step){(float)x, (float)y, (float)z, (float)e};
}

static void normalise(double d[3])
{
    double n = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (n <= 0.0) {
        d[0] = 0.0, d[1] = 0.0, d[2] = 1.0;
        return;
    }
    d[0] /= n, d[1] /= n, d[2] /= n;
}

/* Two unit vectors perpendicular to d (and to each other). */
static void perpendiculars(const double d[3], double e1[3], double e2[3])
{
    double a[3] = {1.0, 0.0, 0.0};
    if (fabs(d[0]) > 0.9) a[0] = 0.0, a[1] = 1.0;
    e1[0] = d[1] * a[2] - d[2] * a[1];
    e1[1] = d[2] * a[0] - d[0] * a[2];
    e1[2] = d[0] * a[1] - d[1] * a[0];
    normalise(e1);
    e2[0] = d[1] * e1[2] - d[2] * e1[1];
    e2[1] = d[2] * e1[0] - d[0] * e1[2];
    e2[2] = d[0] * e1[1] - d[1] * e1[0];
}

/* A track of given energy at constant dE/dx from v along d. With scatter, the direction takes
 * Highland multiple-scattering kicks (for electrons, momentum ~ remaining energy). Stops when the
 * energy is spent, or when it leaves the box after having been inside. */
static void track(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3],
                  const double d_in[3], double energy, double dedx, int scatter)
{
    double p[3] = {v[0], v[1], v[2]}, d[3] = {d_in[0], d_in[1], d_in[2]};
    normalise(d);
    double left = energy;
    int was_inside = 0;
    while (left > 0.0) {
        double de = dedx * STEP_MM < left ? dedx * STEP_MM : left;
        double ds = de / dedx;
        double mid[3] = {p[0] + 0.5 * ds * d[0], p[1] + 0.5 * ds * d[1], p[2] + 0.5 * ds * d[2]};
        int in = inside(s, mid[0], mid[1], mid[2]);
        if (in) {
            add_step(s, mid[0], mid[1], mid[2], de);
            was_inside = 1;
        } else if (was_inside) {
            break; /* left the box: nothing more to deposit here */
        }
        for (int i = 0; i < 3; i++) p[i] += ds * d[i];
        left -= de;
        if (scatter && left > 0.0) {
            double theta0 = 13.6 / (left + ELECTRON_MASS_MEV) * sqrt(ds / X0_MM);
            double e1[3], e2[3];
            perpendiculars(d, e1, e2);
            double a = theta0 * lt_sim_normal(r), b = theta0 * lt_sim_normal(r);
            for (int i = 0; i < 3; i++) d[i] += a * e1[i] + b * e2[i];
            normalise(d);
        }
    }
}

/* A through-going muon: straight, minimum ionising, until it leaves the box. */
static void muon(struct lt_sim_cell *s, const double v[3], const double d_in[3])
{
    double diag = sqrt(LT_SIM_DRIFT_MM * LT_SIM_DRIFT_MM + LT_SIM_HEIGHT_MM * LT_SIM_HEIGHT_MM +
                       s->width_mm * s->width_mm);
    track(s, NULL, v, d_in, (diag + 2.0) * MIP_MEV_PER_MM, MIP_MEV_PER_MM, 0);
}

/* Electromagnetic shower: points of ~1 MeV, depth t ~ Gamma(b t_max + 1, b) radiation lengths
 * (Longo's parametrisation, b = 0.5), radius exponential with 90% inside a Moliere radius. */
static void shower(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3],
                   const double d_in[3], double energy)
{
    double d[3] = {d_in[0], d_in[1], d_in[2]}, e1[3], e2[3];
    normalise(d);
    perpendiculars(d, e1, e2);
    double tmax = log(energy / E_CRIT_MEV) - 0.5;
    if (tmax < 0.0) tmax = 0.0;
    const double b = 0.5, a = b * tmax + 1.0;
    uint32_t n = (uint32_t)(energy / SHOWER_MEV_PER_POINT);
    if (n < 8) n = 8;
    if (n > SHOWER_MAX_POINTS) n = SHOWER_MAX_POINTS;
    double e = energy / n;
    for (uint32_t i = 0; i < n; i++) {
        double depth = lt_sim_gamma(r, a) / b * X0_MM;
        double rad = lt_sim_exponential(r) * MOLIERE_MM / 2.3026;
        double phi = 2.0 * M_PI * lt_sim_uniform(r);
        double cr = rad * cos(phi), sr = rad * sin(phi);
        add_step(s, v[0] + depth * d[0] + cr * e1[0] + sr * e2[0],
                 v[1] + depth * d[1] + cr * e1[1] + sr * e2[1],
                 v[2] + depth * d[2] + cr * e1[2] + sr * e2[2], e);
    }
}

/* A 5-50 MeV electron: a scattering track carrying most of the energy, and a few bremsstrahlung
 * photons converting ~9/7 X0 away into short electron tracks (the "blips" of a supernova event). */
static void electron(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3],
                     const double d[3], double energy)
{
    double main_frac = 0.5 + 0.4 * lt_sim_uniform(r);
    track(s, r, v, d, energy * main_frac, MIP_MEV_PER_MM, 1);
    int n_brem = 1 + (int)(3.0 * lt_sim_uniform(r));
    double e_brem = energy * (1.0 - main_frac) / n_brem;
    for (int i = 0; i < n_brem; i++) {
        double along = lt_sim_uniform(r) * energy * main_frac / MIP_MEV_PER_MM;
        double dist = lt_sim_exponential(r) * X0_MM * 9.0 / 7.0;
        double g[3] = {d[0] + 0.3 * lt_sim_normal(r), d[1] + 0.3 * lt_sim_normal(r),
                       d[2] + 0.3 * lt_sim_normal(r)};
        normalise(g);
        double c[3];
        for (int k = 0; k < 3; k++) c[k] = v[k] + along * d[k] + dist * g[k];
        track(s, r, c, g, e_brem, MIP_MEV_PER_MM, 1);
    }
}

/* The hadronic system of a neutrino interaction: proton-like stubs (heavily ionising, short), the
 * energy beyond a few of them going into a pi0-like electromagnetic shower. */
static void hadrons(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3], double energy)
{
    int n = 1 + (int)(energy / HADRON_MAX_MEV);
    if (n > 4) n = 4;
    double ep = energy / n < HADRON_MAX_MEV ? energy / n : HADRON_MAX_MEV;
    for (int i = 0; i < n; i++) {
        double d[3];
        lt_sim_isotropic(r, d);
        track(s, r, v, d, ep, PROTON_MEV_PER_MM, 0);
    }
    double rest = energy - n * ep;
    if (rest > 1.0) {
        double d[3];
        lt_sim_isotropic(r, d);
        double c[3];
        double gap = lt_sim_exponential(r) * X0_MM * 9.0 / 7.0; /* photon conversion distance */
        for (int k = 0; k < 3; k++) c[k] = v[k] + gap * d[k];
        shower(s, r, c, d, rest);
    }
}

double lt_sim_ar39_energy(struct lt_sim_cell *s, struct lt_sim_rng *r)
{
    /* Allowed beta shape N(T) ~ p E (Q - T)^2 (no Fermi function), by rejection. */
    for (;;) {
        double t = AR39_Q_MEV * lt_sim_uniform(r);
        double e = t + ELECTRON_MASS_MEV, p = sqrt(t * t + 2.0 * t * ELECTRON_MASS_MEV);
        double f = p * e * (AR39_Q_MEV - t) * (AR39_Q_MEV - t);
        if (lt_sim_uniform(r) * s->ar39_pmax <= f) return t;
    }
}

/* ---- radiological backgrounds beyond 39Ar (docs/simulation.md gives values and sources) ---- */

/* Beta emitters: endpoint (MeV). Allowed shape, like 39Ar; gammas of excited-state branches are
 * left out except 42K's 1.525 MeV line (the one that reaches beyond the beta endpoints of the
 * other backgrounds). */
enum { B_AR42, B_K42, B_K42_EXC, B_KR85, B_PB214, B_BI214, B_COUNT };
static const double beta_q_mev[B_COUNT] = {
    [B_AR42] = 0.599, [B_K42] = 3.525,   [B_K42_EXC] = 2.000, /* 42K -> 1.525 MeV level */
    [B_KR85] = 0.687, [B_PB214] = 1.019, [B_BI214] = 3.270,
};
#define K42_GAMMA_MEV      1.525
#define K42_EXCITED_BRANCH 0.176 /* of 42K decays feed the 1.525 MeV level */
/* 222Rn chain in the argon: alpha energies, and the fraction of each daughter still in the
 * argon (the rest drifted to the cathode as ions: DUNE radiological model). */
#define RN222_ALPHA_MEV 5.490
#define PO218_ALPHA_MEV 6.002
#define PO214_ALPHA_MEV 7.687
static const double rn_chain_in_argon[4] = {1.0, 0.863, 0.593, 0.328}; /* Rn, Po218, Pb214, Bi214 */
/* 40Ar(n, gamma)41Ar: 6.099 MeV released as a cascade; representative cascades built from its
 * strongest lines (4.745, 3.365, 2.566, 1.187, 0.837, 0.516, 0.167 MeV). */
static const double ncapture_cascades[3][4] = {
    {4.745, 1.187, 0.167, 0.0},
    {3.365, 2.566, 0.167, 0.0},
    {4.745, 0.837, 0.516, 0.0},
};

static double beta_shape(double q, double t)
{
    double e = t + ELECTRON_MASS_MEV, p = sqrt(t * t + 2.0 * t * ELECTRON_MASS_MEV);
    return p * e * (q - t) * (q - t);
}

static double beta_bound(double q)
{
    double m = 0.0;
    for (int i = 0; i <= 2000; i++) {
        double f = beta_shape(q, q * i / 2000.0);
        if (f > m) m = f;
    }
    return m * 1.01;
}

void lt_sim_beta_init(struct lt_sim_cell *s)
{
    for (int b = 0; b < B_COUNT; b++) s->beta_pmax[b] = beta_bound(beta_q_mev[b]);
}

static double beta_energy(struct lt_sim_cell *s, struct lt_sim_rng *r, int b)
{
    double q = beta_q_mev[b];
    for (;;) {
        double t = q * lt_sim_uniform(r);
        if (lt_sim_uniform(r) * s->beta_pmax[b] <= beta_shape(q, t)) return t;
    }
}

double lt_sim_radiological_rate(const struct lt_sim_config *c, uint32_t kind, double mass_kg)
{
    switch (kind) {
    case LT_TRUTH_AR42: /* 42Ar and the 42K daughters that decay in the argon */
        return c->ar42_bq_per_kg * (1.0 + c->k42_in_argon_fraction) * mass_kg;
    case LT_TRUTH_KR85:
        return c->kr85_bq_per_kg * mass_kg;
    case LT_TRUTH_RN222: {
        double chain = 0.0;
        for (int i = 0; i < 4; i++) chain += rn_chain_in_argon[i];
        return c->rn222_bq_per_kg * chain * mass_kg;
    }
    default:
        return 0.0;
    }
}

static void add_step(struct lt_sim_cell *s, double x, double y, double z, double e);
static void track(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3],
                  const double d_in[3], double energy, double dedx, int scatter);

/* An electron of kinetic energy t from v: a scattering track when it crosses more than a few
 * mm (about 0.5 MeV), else a point. */
static void electron_blip(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3], double t)
{
    if (t > 0.5) {
        double d[3];
        lt_sim_isotropic(r, d);
        track(s, r, v, d, t, MIP_MEV_PER_MM, 1);
    } else {
        add_step(s, v[0], v[1], v[2], t);
    }
}

/* An alpha: a point (range ~50 um) whose charge is quenched by recombination. Its step carries
 * the electron-equivalent energy, so the drift turns it into the right charge. */
static void alpha_blip(struct lt_sim_cell *s, const double v[3], double e)
{
    add_step(s, v[0], v[1], v[2], e * s->cfg.alpha_charge_ratio);
}

/* A gamma of energy e from v: Compton scatters spread over tens of cm, each leaving a recoil
 * electron (a blip), until the rest is photo-absorbed below 0.2 MeV. Attenuation length in LAr
 * ~117 mm x sqrt(E / MeV) (NIST XCOM, 1-6 MeV). */
static void gamma_blips(struct lt_sim_cell *s, struct lt_sim_rng *r, const double v[3], double e)
{
    double p[3] = {v[0], v[1], v[2]}, d[3];
    lt_sim_isotropic(r, d);
    for (int n = 0; n < 16 && e > 0.0; n++) {
        double dist = lt_sim_exponential(r) * 117.0 * sqrt(e > 0.05 ? e : 0.05);
        for (int k = 0; k < 3; k++) p[k] += dist * d[k];
        if (e < 0.2) {
            add_step(s, p[0], p[1], p[2], e);
            return;
        }
        double t = e * (0.2 + 0.6 * lt_sim_uniform(r)); /* recoil electron */
        electron_blip(s, r, p, t);
        e -= t;
        lt_sim_isotropic(r, d);
    }
}

static void radiological(struct lt_sim_cell *s, struct lt_sim_rng *r, uint32_t kind,
                         const double v[3])
{
    const struct lt_sim_config *c = &s->cfg;
    switch (kind) {
    case LT_TRUTH_AR42:
        if (lt_sim_uniform(r) * (1.0 + c->k42_in_argon_fraction) < 1.0) {
            electron_blip(s, r, v, beta_energy(s, r, B_AR42));
        } else if (lt_sim_uniform(r) < K42_EXCITED_BRANCH) {
            electron_blip(s, r, v, beta_energy(s, r, B_K42_EXC));
            gamma_blips(s, r, v, K42_GAMMA_MEV);
        } else {
            electron_blip(s, r, v, beta_energy(s, r, B_K42));
        }
        return;
    case LT_TRUTH_KR85:
        electron_blip(s, r, v, beta_energy(s, r, B_KR85));
        return;
    case LT_TRUTH_RN222: {
        double total = 0.0, u;
        for (int i = 0; i < 4; i++) total += rn_chain_in_argon[i];
        u = lt_sim_uniform(r) * total;
        if (u < rn_chain_in_argon[0]) {
            alpha_blip(s, v, RN222_ALPHA_MEV);
        } else if ((u -= rn_chain_in_argon[0]) < rn_chain_in_argon[1]) {
            alpha_blip(s, v, PO218_ALPHA_MEV);
        } else if ((u -= rn_chain_in_argon[1]) < rn_chain_in_argon[2]) {
            electron_blip(s, r, v, beta_energy(s, r, B_PB214));
        } else { /* 214Bi beta, then 214Po's alpha 164 us later at the same place */
            electron_blip(s, r, v, beta_energy(s, r, B_BI214));
            alpha_blip(s, v, PO214_ALPHA_MEV);
        }
        return;
    }
    case LT_TRUTH_NCAPTURE: {
        const double *g = ncapture_cascades[(int)(3.0 * lt_sim_uniform(r)) % 3];
        for (int i = 0; i < 4 && g[i] > 0.0; i++) gamma_blips(s, r, v, g[i]);
        return;
    }
    default:
        return;
    }
}

double lt_sim_ar39_pmax(void)
{
    double m = 0.0;
    for (int i = 0; i <= 2000; i++) {
        double t = AR39_Q_MEV * i / 2000.0;
        double e = t + ELECTRON_MASS_MEV, p = sqrt(t * t + 2.0 * t * ELECTRON_MASS_MEV);
        double f = p * e * (AR39_Q_MEV - t) * (AR39_Q_MEV - t);
        if (f > m) m = f;
    }
    return m * 1.01;
}

void lt_sim_physics_generate(struct lt_sim_cell *s, struct lt_sim_rng *r,
                             const struct lt_sim_event *ev)
{
    s->n_steps = 0;
    double v[3], d[3];
    if (ev->has_vertex) {
        v[0] = ev->vertex_mm[0], v[1] = ev->vertex_mm[1], v[2] = ev->vertex_mm[2];
    } else if (ev->kind == LT_TRUTH_COSMIC) {
        /* Enter through the top face. */
        v[0] = LT_SIM_DRIFT_MM * lt_sim_uniform(r);
        v[1] = LT_SIM_HEIGHT_MM - 1e-3;
        v[2] = s->width_mm * lt_sim_uniform(r);
    } else {
        v[0] = LT_SIM_DRIFT_MM * lt_sim_uniform(r);
        v[1] = LT_SIM_HEIGHT_MM * lt_sim_uniform(r);
        v[2] = s->width_mm * lt_sim_uniform(r);
    }
    if (ev->has_direction) {
        d[0] = ev->direction[0], d[1] = ev->direction[1], d[2] = ev->direction[2];
        normalise(d);
    } else if (ev->kind == LT_TRUTH_COSMIC) {
        /* Flux through a horizontal surface ~ cos^3(zenith): cos = U^(1/4). Downward. */
        double ct = pow(lt_sim_uniform(r), 0.25), st = sqrt(1.0 - ct * ct);
        double phi = 2.0 * M_PI * lt_sim_uniform(r);
        d[0] = st * cos(phi), d[1] = -ct, d[2] = st * sin(phi);
    } else {
        lt_sim_isotropic(r, d);
    }

    double e = ev->energy_mev;
    uint32_t topo = ev->topology;
    switch (ev->kind) {
    case LT_TRUTH_AR39:
        add_step(s, v[0], v[1], v[2], e); /* range < 2 mm: a point at our resolution */
        return;
    case LT_TRUTH_AR42:
    case LT_TRUTH_KR85:
    case LT_TRUTH_RN222:
    case LT_TRUTH_NCAPTURE:
        /* The decay draws its own energies; an injected one ignores energy_mev. */
        radiological(s, r, ev->kind, v);
        return;
    case LT_TRUTH_COSMIC:
        if (topo == LT_SIM_TOPO_AUTO) {
            muon(s, v, d);
            return;
        }
        break;
    case LT_TRUTH_LOW_ENERGY:
        if (topo == LT_SIM_TOPO_AUTO) {
            electron(s, r, v, d, e);
            return;
        }
        break;
    case LT_TRUTH_HIGH_ENERGY:
        if (topo == LT_SIM_TOPO_AUTO) {
            /* Half muon-neutrino-like (a long muon track), half electron-neutrino-like (an EM
             * shower); the lepton takes 50-90% of the energy, hadrons the rest. */
            double lep = (0.5 + 0.4 * lt_sim_uniform(r)) * e;
            if (lt_sim_uniform(r) < 0.5)
                track(s, r, v, d, lep, MIP_MEV_PER_MM, 0);
            else
                shower(s, r, v, d, lep);
            hadrons(s, r, v, e - lep);
            return;
        }
        break;
    default:
        return;
    }
    switch (topo) {
    case LT_SIM_TOPO_TRACK:
        track(s, r, v, d, e, MIP_MEV_PER_MM, 0);
        break;
    case LT_SIM_TOPO_SHOWER:
        shower(s, r, v, d, e);
        break;
    case LT_SIM_TOPO_POINT:
        add_step(s, v[0], v[1], v[2], e);
        break;
    default:
        break;
    }
}
