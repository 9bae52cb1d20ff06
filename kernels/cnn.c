/* The streaming CNN: line buffers, conv, requantisation, pooling. docs/kernel.md. */
#include "cnn.h"

#include <string.h>

#include "preprocess.h" /* lt_round_shift32 */

/* HLS structure: every loop has a compile-time bound (the maxima) and a guard, so v++ sees fixed
 * trip counts; the wire loop is pipelined and the tap loops under it unroll into a multiply-add
 * tree (Cin x kt x kw DSPs at most). gcc skips the guarded iterations. */
void lt_conv_column_scalar(const struct lt_conv_job *job, uint32_t layer_index)
{
    (void)layer_index;
    const struct lt_kernel_layer *L = job->L;
    const uint32_t cin = L->cin, cout = L->cout, kt = L->kt, kw = L->kw, half = kw / 2U;
    const uint32_t n = job->n_wires;
    for (uint32_t co = 0; co < LT_KERNEL_MAX_CH; co++) {
        if (co >= cout) break;
        for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
#pragma HLS PIPELINE II = 1
            if (j >= n) break;
            /* Unsigned accumulation: the contract's int32 wraps modulo 2^32, and unsigned
             * arithmetic is how C says that without undefined behaviour. */
            uint32_t acc = (uint32_t)job->bias[co];
            for (uint32_t ci = 0; ci < LT_KERNEL_MAX_CH; ci++) {
                if (ci >= cin) break;
                for (uint32_t dt = 0; dt < LT_KERNEL_MAX_KT; dt++) {
                    if (dt >= kt) break;
                    const int16_t *col = job->rows[dt];
                    for (uint32_t dw = 0; dw < LT_KERNEL_MAX_KW; dw++) {
                        if (dw >= kw) break;
                        int32_t xv = lt_cnn_lb_get(col, cin, ci, j + LT_KERNEL_WPAD - half + dw);
                        int32_t wv = job->w[lt_kernel_widx(L, co, ci, dt, dw)];
                        acc += (uint32_t)(xv * wv);
                    }
                }
            }
            int32_t y = lt_round_shift32((int32_t)acc, L->shift);
            if (L->relu && y < 0) y = 0;
            job->out[co * LT_KERNEL_WSTRIDE + j] = (int16_t)(y < job->lo   ? job->lo
                                                             : y > job->hi ? job->hi
                                                                           : y);
        }
    }
}

void lt_cnn_reset(struct lt_cnn_state *st, const struct lt_kernel_net *net, uint32_t n_wires)
{
    st->n_wires = n_wires;
    uint32_t w = n_wires;
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) {
        struct lt_cnn_layer_state *ls = &st->layer[l];
        if (l < net->n_layers) {
            /* Only the part a layer can touch needs zeroing: kt ring slots of its pairs. */
            uint32_t pairs = net->layer[l].cin == 1 ? 1U : (net->layer[l].cin + 1U) / 2U;
            for (uint32_t s = 0; s < LT_KERNEL_MAX_KT; s++)
                if (s < net->layer[l].kt) memset(ls->lb[s], 0, sizeof(ls->lb[s][0]) * pairs);
        }
        ls->head = 0;
        ls->pool_odd = 0;
        ls->w_in = w;
        if (l < net->n_layers) w /= net->layer[l].pw;
    }
    st->w_score = w;
}

void lt_lb_store_scalar(int16_t *lb, const int16_t *in, uint32_t stride, uint32_t cin, uint32_t w)
{
    if (cin == 1) {
        int16_t *row = lb;
        /* Pair (x[p], x[p+1]) for p = WPAD-1 .. WPAD+w-1; x outside the wires is 0. */
        row[2U * (LT_KERNEL_WPAD - 1U)] = 0;
        row[2U * (LT_KERNEL_WPAD - 1U) + 1U] = in[0];
        for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
#pragma HLS PIPELINE II = 1
            if (j >= w) break;
            row[2U * (j + LT_KERNEL_WPAD)] = in[j];
            row[2U * (j + LT_KERNEL_WPAD) + 1U] = j + 1U < w ? in[j + 1U] : 0;
        }
        return;
    }
    for (uint32_t ci = 0; ci < LT_KERNEL_MAX_CH; ci++) {
        if (ci >= cin) break;
        int16_t *row = lb + (ci >> 1) * LT_CNN_ROW;
        for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
#pragma HLS PIPELINE II = 1
            if (j >= w) break;
            row[2U * (j + LT_KERNEL_WPAD) + (ci & 1U)] = in[ci * stride + j];
        }
    }
}

void lt_pool_w_scalar(const int16_t *in, int16_t *out, uint32_t cout, uint32_t w, uint32_t pw)
{
    const uint32_t wo = w / pw;
    for (uint32_t c = 0; c < LT_KERNEL_MAX_CH; c++) {
        if (c >= cout) break;
        for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
#pragma HLS PIPELINE II = 1
            if (j >= wo) break;
            const int16_t *p = in + c * LT_KERNEL_WSTRIDE + j * pw;
            int16_t m = p[0];
            for (uint32_t k = 1; k < 4U; k++) /* pw <= 4 */
                if (k < pw) m = p[k] > m ? p[k] : m;
            out[c * LT_KERNEL_MAX_WIRES + j] = m;
        }
    }
}

void lt_pool_t_scalar(int16_t *cur, const int16_t *pending, uint32_t cout, uint32_t wo)
{
    for (uint32_t c = 0; c < LT_KERNEL_MAX_CH; c++) {
        if (c >= cout) break;
        for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
#pragma HLS PIPELINE II = 1
            if (j >= wo) break;
            int16_t a = pending[c * LT_KERNEL_MAX_WIRES + j], b = cur[c * LT_KERNEL_MAX_WIRES + j];
            cur[c * LT_KERNEL_MAX_WIRES + j] = a > b ? a : b;
        }
    }
}

int lt_cnn_push(struct lt_cnn_state *st, const struct lt_kernel_net *net, const int16_t *x,
                int16_t *score)
{
    const int16_t *in = x;
    uint32_t in_stride = 0; /* layer 0 input has one channel */
    int stored = 0;         /* the previous layer's conv stored this layer's input (returned 2) */
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) {
        if (l >= net->n_layers) break;
        const struct lt_kernel_layer *L = &net->layer[l];
        struct lt_cnn_layer_state *ls = &st->layer[l];
        const uint32_t w = ls->w_in, kt = L->kt;
        ls->head = ls->head + 1U >= kt ? 0 : ls->head + 1U;
#ifndef __SYNTHESIS__
        if (stored) {
            /* done */
        } else if (st->store)
            st->store(&ls->lb[ls->head][0][0], in, in_stride, L->cin, w);
        else
#endif
            lt_lb_store_scalar(&ls->lb[ls->head][0][0], in, in_stride, L->cin, w);

        struct lt_conv_job job;
        job.L = L;
        job.w = net->w[l];
        job.bias = net->bias[l];
        job.packed = NULL;
        /* rows[kt-1] is the newest column (head), rows[0] the oldest. */
        for (uint32_t dt = 0; dt < LT_KERNEL_MAX_KT; dt++) {
            if (dt >= kt) break;
            uint32_t back = kt - 1U - dt;
            uint32_t slot = ls->head >= back ? ls->head - back : ls->head + kt - back;
            job.rows[dt] = &ls->lb[slot][0][0];
        }
        job.out = &st->conv_out[0][0];
        job.pool_out = &st->pool_out[0][0];
        job.n_wires = w;
        lt_kernel_out_range(net, l, &job.lo, &job.hi);
        job.next_lb = NULL;
        job.pending = &ls->pool_pending[0][0];
        job.pt_phase = L->pt == 2 ? ls->pool_odd : 1U;
        int pooled = 0; /* the backend's conv did the wire pool too (1), and more (2) */
#ifndef __SYNTHESIS__
        if (st->conv) {
            if (l + 1U < net->n_layers) { /* the slot the next layer's next column goes to */
                struct lt_cnn_layer_state *nx = &st->layer[l + 1U];
                job.next_lb =
                    &nx->lb[nx->head + 1U >= net->layer[l + 1U].kt ? 0 : nx->head + 1U][0][0];
            }
            job.packed = st->packed[l];
            pooled = st->conv(&job, l);
        } else
#endif
            lt_conv_column_scalar(&job, l);
        stored = pooled == 2;
        if (stored) {
            if (L->pt == 2) {
                ls->pool_odd = !ls->pool_odd;
                if (ls->pool_odd) return 0; /* the first column of the pair is pending */
            }
            continue;
        }

        /* Max-pool along wires, then (pt = 2) along time. */
        const uint32_t wo = w / L->pw, cout = L->cout;
#ifndef __SYNTHESIS__
        if (pooled) {
            /* done */
        } else if (st->pool_w)
            st->pool_w(&st->conv_out[0][0], &st->pool_out[0][0], cout, w, L->pw);
        else
#endif
            lt_pool_w_scalar(&st->conv_out[0][0], &st->pool_out[0][0], cout, w, L->pw);
        if (L->pt == 2) {
            if (!ls->pool_odd) {
                for (uint32_t c = 0; c < LT_KERNEL_MAX_CH; c++) {
                    if (c >= cout) break;
                    memcpy(ls->pool_pending[c], st->pool_out[c], wo * sizeof(int16_t));
                }
                ls->pool_odd = 1;
                return 0;
            }
            ls->pool_odd = 0;
#ifndef __SYNTHESIS__
            if (st->pool_t)
                st->pool_t(&st->pool_out[0][0], &ls->pool_pending[0][0], cout, wo);
            else
#endif
                lt_pool_t_scalar(&st->pool_out[0][0], &ls->pool_pending[0][0], cout, wo);
        }
        in = &st->pool_out[0][0];
        in_stride = LT_KERNEL_MAX_WIRES;
    }
    memcpy(score, st->pool_out[0], st->w_score * sizeof(int16_t));
    return 1;
}
