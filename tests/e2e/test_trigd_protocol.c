/* Hostile input on real sockets: a `module` trigd process receives malformed, truncated,
 * misaddressed, multi-part and out-of-order messages on its candidate socket and bad replies on
 * its request socket. Each is counted and dropped; the daemon keeps working: a valid candidate
 * afterwards still makes a trigger, whose data requests this test answers as the two cells, and
 * the record holds exactly the bytes sent. The counters are read from the daemon's final
 * status line. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "h5raw.h"
#include "msg.h"
#include "test_trigd_util.h"
#include "ticks.h"
#include "wibeth.h"

static char dir[256];
static uint8_t buf[1 << 20];

#define T_TRIG 1000000000ULL

static void send_raw(void *s, const void *p, size_t n)
{
    ck_assert_int_eq(zmq_send(s, p, n, 0), (int)n);
}

static void send_hb(void *push, uint32_t cell, uint64_t seq, uint64_t wm)
{
    size_t len;
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, cell, seq, wm, &len), 0);
    send_raw(push, buf, len);
}

/* Wait for one DATA_REQUEST on a cell's DEALER. */
static void recv_request(void *dealer, struct lt_msg_data_request *rq)
{
    zmq_pollitem_t pi = {.socket = dealer, .events = ZMQ_POLLIN};
    ck_assert_int_eq(zmq_poll(&pi, 1, 15000), 1);
    int n = zmq_recv(dealer, buf, sizeof buf, 0);
    ck_assert_int_gt(n, 0);
    struct lt_msg_view v;
    char err[200];
    ck_assert_msg(lt_msg_decode(buf, (size_t)n, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(v.hdr.type, LT_MSG_DATA_REQUEST);
    *rq = v.request;
}

static lt_wibeth_frame frames[2][3];

static void send_reply(void *dealer, uint32_t cell, const struct lt_msg_data_request *rq)
{
    struct lt_msg_reply_info info = {rq->request_id, rq->trigger_number, cell, 0};
    struct lt_msg_reply_builder b;
    lt_msg_reply_begin(&b, buf, sizeof buf, 1, T_TRIG, &info);
    for (uint32_t s = 0; s < 2; s++) {
        for (int k = 0; k < 3; k++)
            memset(&frames[s][k], (int)(0x10 * cell + 4 * s + (unsigned)k + 1),
                   sizeof frames[s][k]);
        struct lt_fragment_header h = {
            .trigger_number = rq->trigger_number,
            .trigger_timestamp = rq->trigger_timestamp,
            .window_begin = rq->window_begin,
            .window_end = rq->window_end + 1,
            .run_number = rq->run_number,
            .fragment_type = LT_FRAGTYPE_WIBETH,
            .detector_id = LT_DETID_HD_TPC,
            .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, (cell << 8) | s},
        };
        lt_msg_reply_add_fragment(&b, &h, frames[s], sizeof frames[s]);
    }
    size_t len;
    ck_assert_int_eq(lt_msg_reply_finish(&b, &len), 0);
    send_raw(dealer, buf, len);
}

START_TEST(test_hostile_messages)
{
    char conf[512], text[4096], log[512], path[600];
    int pc = test_port(5), pr = test_port(6);
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    snprintf(log, sizeof log, "%s/module.log", dir);
    snprintf(text, sizeof text,
             "role = \"module\";\n"
             "cells = ( { id = 0; }, { id = 1; } );\n"
             "trigger = { cell_timeout_ms = 60000; coincidence = { enabled = false; };\n"
             "            single = { enabled = true; min_score = 2000; }; };\n"
             "readout = { data_wait_ms = 500; reply_timeout_ms = 5000; };\n"
             "endpoints = { candidates = \"tcp://127.0.0.1:%d\"; requests = "
             "\"tcp://127.0.0.1:%d\"; insecure = true; };\n"
             "writer = { output_dir = \"%s\"; };\n",
             pc, pr, dir);
    write_file(conf, text);
    const char *args[] = {"-c", conf, "--status-interval", "0", NULL};
    pid_t pm = trigd_spawn(log, args);
    ck_assert(wait_for_log(log, "running: role module", 20));

    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pc);
    ck_assert_int_eq(zmq_connect(push, ep), 0);
    void *dealer[2];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pr);
    for (int c = 0; c < 2; c++) {
        dealer[c] = zmq_socket(ctx, ZMQ_DEALER);
        ck_assert_int_eq(zmq_connect(dealer[c], ep), 0);
        /* The hello that routes cell c's data requests to this connection. */
        send_hb(dealer[c], (uint32_t)c, 1, 0);
    }
    usleep(300000); /* let the connections come up */

    /* --- 7 malformed messages --- */
    size_t len;
    send_raw(push, "garbage!!!", 10);
    struct lt_candidate c = {.time_start = T_TRIG,
                             .time_end = T_TRIG + 640,
                             .time_peak = T_TRIG + 320,
                             .cell = 1,
                             .channel_start = 2,
                             .channel_end = 9,
                             .peak_score = 5000,
                             .adc_sum = 900,
                             .n_pixels = 20};
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 1, 1, T_TRIG + 1000, &c, 1, &len),
                     0);
    send_raw(push, buf, len - 10); /* truncated */
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 0, 1, 5, &len), 0);
    buf[0] ^= 0xFF; /* magic */
    send_raw(push, buf, len);
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 0, 1, 5, &len), 0);
    buf[4] = 99; /* version */
    send_raw(push, buf, len);
    struct lt_msg_data_request rq0 = {
        .trigger_number = 1, .window_begin = 1, .window_end = 2, .cell = 0};
    ck_assert_int_eq(lt_msg_encode_data_request(buf, sizeof buf, 1, &rq0, &len), 0);
    send_raw(push, buf, len); /* wrong message type for this socket */
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 7, 1, 5, &len), 0);
    send_raw(push, buf, len); /* cell 7 is not configured */
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 0, 1, 5, &len), 0);
    ck_assert_int_eq(zmq_send(push, buf, len, ZMQ_SNDMORE), (int)len);
    send_raw(push, buf, len); /* multi-part */

    /* --- order: 3 out of order, 1 lost --- */
    send_hb(push, 0, 1, T_TRIG - 1000000);
    send_hb(push, 0, 1, T_TRIG - 1000000); /* duplicate */
    send_hb(push, 0, 3, T_TRIG - 500000);  /* 2 lost */
    send_hb(push, 0, 2, T_TRIG - 400000);  /* behind 3 */
    send_hb(push, 0, 4, T_TRIG - 600000);  /* watermark going back */

    /* --- still alive: a real trigger, read out from the two "cells" --- */
    send_hb(push, 1, 1, T_TRIG - 1000000);
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 1, 1, T_TRIG + 1000, &c, 1, &len),
                     0);
    send_raw(push, buf, len);
    send_hb(push, 0, 5, T_TRIG + 1000000);
    send_hb(push, 1, 2, T_TRIG + 1000000);
    struct lt_msg_data_request rq[2];
    recv_request(dealer[0], &rq[0]);
    recv_request(dealer[1], &rq[1]);
    for (int k = 0; k < 2; k++) {
        ck_assert_uint_eq(rq[k].trigger_number, 1);
        ck_assert_uint_eq(rq[k].cell, (uint32_t)k);
        ck_assert_uint_eq(rq[k].trigger_timestamp, T_TRIG);
        ck_assert_uint_eq(rq[k].window_end + 1 - rq[k].window_begin, LT_DRIFT_WINDOW_TICKS);
    }
    send_raw(dealer[1], "not a reply", 11); /* bad reply: counted, dropped */
    send_reply(dealer[0], 0, &rq[0]);
    send_reply(dealer[1], 1, &rq[1]);
    ck_assert(wait_for_log(log, "trigger 1 at", 10));
    usleep(300000);

    kill(pm, SIGTERM);
    int st = trigd_wait(pm, 30);
    if (st) print_log(log);
    ck_assert_int_eq(st, 0);
    zmq_close(push);
    zmq_close(dealer[0]);
    zmq_close(dealer[1]);
    zmq_ctx_term(ctx);

    /* The final status line holds the counters. */
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    unsigned long long msgs = 0, bad = 99, ooo = 99, lost = 99;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "module: ");
        if (p && sscanf(p, "module: %llu msgs (%llu bad, %llu out of order, %llu lost)", &msgs,
                        &bad, &ooo, &lost) == 4)
            found = 1;
    }
    fclose(f);
    ck_assert(found);
    ck_assert_uint_eq(bad, 7);
    ck_assert_uint_eq(ooo, 3);
    ck_assert_uint_eq(lost, 1);
    ck_assert_uint_eq(msgs, 7 + 5 + 4);
    ck_assert(wait_for_log(log, "bad data reply dropped", 1));

    /* The record holds what the cells sent. */
    int nf, nw;
    ck_assert_int_eq(find_hdf5(dir, path, sizeof path, &nf, &nw), 0);
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(lt_h5r_record_count(r), 1);
    for (uint32_t cell = 0; cell < 2; cell++) {
        for (uint32_t s = 0; s < 2; s++) {
            struct lt_source_id sid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                       (cell << 8) | s};
            char name[LT_H5_NAME_MAX];
            lt_h5_fragment_dataset_name(&sid, LT_FRAGTYPE_WIBETH, name, sizeof name);
            uint8_t *fb;
            struct lt_fragment_header h;
            size_t plen;
            ck_assert_msg(
                lt_h5r_read_fragment_alloc(r, 0, name, &h, &fb, &plen, 0, err, sizeof err) == 0,
                "%s", err);
            ck_assert_uint_eq(h.error_bits, 0);
            ck_assert_uint_eq(plen, 3 * sizeof(lt_wibeth_frame));
            for (int k = 0; k < 3; k++)
                ck_assert_uint_eq(fb[LT_FRAGMENT_HEADER_SIZE + k * sizeof(lt_wibeth_frame)],
                                  0x10 * cell + 4 * s + (unsigned)k + 1);
            free(fb);
        }
    }
    lt_h5r_close(r);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_hostile_messages, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_protocol", 120, tests);
}
