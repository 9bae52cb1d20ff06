/* Descriptor validation and derived quantities of the per-cell CNN (docs/kernel.md). */
#include "kernel_arch.h"

#include "lt_error.h"

uint32_t lt_kernel_pool_w(const struct lt_kernel_net *net)
{
    uint32_t p = 1;
    for (uint32_t l = 0; l < net->n_layers && l < LT_KERNEL_MAX_LAYERS; l++) p *= net->layer[l].pw;
    return p;
}

uint32_t lt_kernel_pool_t(const struct lt_kernel_net *net)
{
    uint32_t p = 1;
    for (uint32_t l = 0; l < net->n_layers && l < LT_KERNEL_MAX_LAYERS; l++) p *= net->layer[l].pt;
    return p;
}

uint32_t lt_kernel_delay(const struct lt_kernel_net *net)
{
    uint32_t delay = 0, pt_before = 1;
    for (uint32_t l = 0; l < net->n_layers && l < LT_KERNEL_MAX_LAYERS; l++) {
        delay += (uint32_t)(net->layer[l].kt - 1) * pt_before;
        pt_before *= net->layer[l].pt;
    }
    return delay;
}

double lt_kernel_macs_per_column(const struct lt_kernel_net *net, uint32_t n_wires)
{
    double macs = 0.0, rate = 1.0, w = n_wires;
    for (uint32_t l = 0; l < net->n_layers && l < LT_KERNEL_MAX_LAYERS; l++) {
        const struct lt_kernel_layer *L = &net->layer[l];
        macs += rate * w * L->cout * L->cin * L->kt * L->kw;
        rate /= L->pt;
        w /= L->pw;
    }
    return macs;
}

int lt_kernel_arch_check(const struct lt_kernel_net *net, char *err, size_t errlen)
{
    if (net->d > LT_KERNEL_MAX_D_LOG2) {
        lt_seterr(err, errlen, "downsample d=%u out of range 0..%u", net->d, LT_KERNEL_MAX_D_LOG2);
        return LT_ERANGE;
    }
    if (net->in_shift > LT_KERNEL_MAX_IN_SHIFT) {
        lt_seterr(err, errlen, "in_shift=%u out of range 0..%u", net->in_shift,
                  LT_KERNEL_MAX_IN_SHIFT);
        return LT_ERANGE;
    }
    if (net->act_bits != 0 && net->act_bits != 8 && net->act_bits != 16) {
        lt_seterr(err, errlen, "activation width act_bits=%u: only 8 or 16", net->act_bits);
        return LT_ERANGE;
    }
    if (net->n_layers < 1 || net->n_layers > LT_KERNEL_MAX_LAYERS) {
        lt_seterr(err, errlen, "n_layers=%u out of range 1..%u", net->n_layers,
                  LT_KERNEL_MAX_LAYERS);
        return LT_ERANGE;
    }
    uint32_t prev_cout = 1, pw_prod = 1, pt_prod = 1;
    for (uint32_t l = 0; l < net->n_layers; l++) {
        const struct lt_kernel_layer *L = &net->layer[l];
        if (L->cin < 1 || L->cin > LT_KERNEL_MAX_CH || L->cout < 1 || L->cout > LT_KERNEL_MAX_CH) {
            lt_seterr(err, errlen, "layer %u: Cin=%u Cout=%u out of range 1..%u", l, L->cin,
                      L->cout, LT_KERNEL_MAX_CH);
            return LT_ERANGE;
        }
        if (L->cin != prev_cout) {
            lt_seterr(err, errlen, "layer %u: Cin=%u but the previous layer has Cout=%u%s", l,
                      L->cin, prev_cout, l == 0 ? " (the input image has 1 channel)" : "");
            return LT_EFORMAT;
        }
        if (L->kt < 1 || L->kt > LT_KERNEL_MAX_KT) {
            lt_seterr(err, errlen, "layer %u: kt=%u out of range 1..%u", l, L->kt,
                      LT_KERNEL_MAX_KT);
            return LT_ERANGE;
        }
        if (L->kw < 1 || L->kw > LT_KERNEL_MAX_KW || (L->kw & 1U) == 0) {
            lt_seterr(err, errlen, "layer %u: kw=%u must be odd in 1..%u", l, L->kw,
                      LT_KERNEL_MAX_KW);
            return LT_ERANGE;
        }
        if (L->shift > LT_KERNEL_MAX_SHIFT) {
            lt_seterr(err, errlen, "layer %u: shift=%u out of range 0..%u", l, L->shift,
                      LT_KERNEL_MAX_SHIFT);
            return LT_ERANGE;
        }
        if (L->relu > 1) {
            lt_seterr(err, errlen, "layer %u: relu=%u must be 0 or 1", l, L->relu);
            return LT_ERANGE;
        }
        if (L->pw != 1 && L->pw != 2 && L->pw != 4) {
            lt_seterr(err, errlen, "layer %u: pw=%u must be 1, 2 or 4", l, L->pw);
            return LT_ERANGE;
        }
        if (L->pt != 1 && L->pt != 2) {
            lt_seterr(err, errlen, "layer %u: pt=%u must be 1 or 2", l, L->pt);
            return LT_ERANGE;
        }
        pw_prod *= L->pw;
        pt_prod *= L->pt;
        prev_cout = L->cout;
    }
    const struct lt_kernel_layer *last = &net->layer[net->n_layers - 1];
    if (last->cout != 1 || last->relu || last->pw != 1 || last->pt != 1) {
        lt_seterr(err, errlen,
                  "last layer %u must have Cout=1, relu=0, pw=1, pt=1 (has Cout=%u relu=%u pw=%u "
                  "pt=%u)",
                  net->n_layers - 1, last->cout, last->relu, last->pw, last->pt);
        return LT_EFORMAT;
    }
    if (pw_prod > LT_KERNEL_MAX_POOL_W || pt_prod > LT_KERNEL_MAX_POOL_T) {
        lt_seterr(err, errlen, "pooling products pw=%u pt=%u exceed %u and %u", pw_prod, pt_prod,
                  LT_KERNEL_MAX_POOL_W, LT_KERNEL_MAX_POOL_T);
        return LT_ERANGE;
    }
    uint32_t delay = lt_kernel_delay(net);
    if (delay > LT_KERNEL_MAX_DELAY) {
        lt_seterr(err, errlen, "receptive-field delay %u input columns exceeds %u", delay,
                  LT_KERNEL_MAX_DELAY);
        return LT_ERANGE;
    }
    return 0;
}
