/* trigd with a UDP cell source: this test plays the front end, sending a simulated cell's
 * WIBEth frames one per datagram to 127.0.0.1 (plus a truncated datagram and a frame for the
 * wrong crate, which must be counted and dropped). Periodic triggers read the frames back; every
 * record fragment must hold exactly the frames that were sent. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "h5raw.h"
#include "sim.h"
#include "test_trigd_util.h"
#include "ticks.h"

static char dir[256];

#define PERIODS 1300 /* ~42.6 ms of data */

static lt_wibeth_frame sent[PERIODS][2];

START_TEST(test_udp_source)
{
    char conf[512], text[2048], log[512], path[600];
    int port = test_port(7);
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    snprintf(log, sizeof log, "%s/trigd.log", dir);
    snprintf(text, sizeof text,
             "cells = ( { id = 0; source = \"udp\"; udp_port = %d; } );\n"
             "trigger = { coincidence = { enabled = false; }; single = { enabled = false; };\n"
             "            periodic = { enabled = true; period_ms = 10.0; }; };\n"
             "duration_s = 0.04;\n"
             "writer = { output_dir = \"%s\"; };\n",
             port, dir);
    write_file(conf, text);
    const char *args[] = {"-c", conf, "--status-interval", "0", NULL};
    pid_t pid = trigd_spawn(log, args);
    ck_assert(wait_for_log(log, "running: role all", 20));

    /* The frames: a simulated one-board cell 0. */
    struct lt_sim_config sc;
    lt_sim_config_default(&sc);
    sc.seed = 11;
    sc.n_fembs = 1;
    sc.start_ticks = 62500000;
    struct lt_sim_cell *sim;
    char err[256];
    ck_assert_msg(lt_sim_cell_create(&sc, 0, &sim, err, sizeof err) == 0, "%s", err);
    uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = calloc(lt_sim_cell_channels(sim), sizeof *adc);
    for (int p = 0; p < PERIODS; p++) {
        lt_sim_cell_render(sim, adc);
        lt_sim_cell_pack(sim, (const uint16_t(*)[LT_SAMPLES_PER_FRAME])adc, sent[p]);
    }
    free(adc);
    lt_sim_cell_destroy(sim);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    /* Two bad datagrams first: truncated, and a frame of crate 5. */
    ck_assert_int_eq(sendto(fd, &sent[0][0], 100, 0, (struct sockaddr *)&to, sizeof to), 100);
    lt_wibeth_frame other = sent[0][0];
    struct lt_daqeth_header h;
    lt_daqeth_decode(&other, &h);
    h.crate = 5;
    lt_daqeth_encode(&other, &h);
    ck_assert_int_eq(sendto(fd, &other, sizeof other, 0, (struct sockaddr *)&to, sizeof to),
                     (int)sizeof other);
    for (int p = 0; p < PERIODS; p++) {
        for (int s = 0; s < 2; s++)
            ck_assert_int_eq(
                sendto(fd, &sent[p][s], sizeof sent[p][s], 0, (struct sockaddr *)&to, sizeof to),
                (int)sizeof sent[p][s]);
        if (p % 2 == 1) usleep(1000); /* a WIB paces its link */
    }
    close(fd);
    int st = trigd_wait(pid, 60);
    if (st) print_log(log);
    ck_assert_int_eq(st, 0);

    /* Counted, not silent: the two bad datagrams (and nothing lost) in the final status. */
    FILE *f = fopen(log, "r");
    char line[2048];
    unsigned long long errors = 999;
    while (f && fgets(line, sizeof line, f)) {
        const char *e = strstr(line, " input dropped");
        const char *c = strstr(line, "cell 0: ");
        if (c && e) {
            const char *q = e;
            while (q > line && q[-1] >= '0' && q[-1] <= '9') q--;
            errors = strtoull(q, NULL, 10);
        }
    }
    if (f) fclose(f);
    ck_assert_uint_eq(errors, 2);

    int nf, nw;
    ck_assert_int_eq(find_hdf5(dir, path, sizeof path, &nf, &nw), 0);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    size_t n = lt_h5r_record_count(r);
    ck_assert_uint_ge(n, 3);
    uint64_t compared = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t s = 0; s < 2; s++) {
            struct lt_source_id sid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, s};
            char name[LT_H5_NAME_MAX];
            lt_h5_fragment_dataset_name(&sid, LT_FRAGTYPE_WIBETH, name, sizeof name);
            uint8_t *buf;
            struct lt_fragment_header fh;
            size_t plen;
            ck_assert_msg(
                lt_h5r_read_fragment_alloc(r, i, name, &fh, &buf, &plen, 0, err, sizeof err) == 0,
                "%s", err);
            /* The first periodic window may start before the first frame sent: kIncomplete. */
            if (fh.window_begin >= sc.start_ticks)
                ck_assert_uint_eq(fh.error_bits, 0);
            else
                ck_assert_uint_eq(fh.error_bits, 1U << LT_FRAG_ERR_INCOMPLETE);
            ck_assert_uint_gt(plen, 0);
            const lt_wibeth_frame *fr = (const lt_wibeth_frame *)(buf + LT_FRAGMENT_HEADER_SIZE);
            for (size_t k = 0; k < plen / sizeof *fr; k++) {
                struct lt_daqeth_header d;
                lt_daqeth_decode(&fr[k], &d);
                uint64_t p = (d.timestamp - sc.start_ticks) / LT_TICKS_PER_FRAME;
                ck_assert_uint_lt(p, PERIODS);
                ck_assert(memcmp(&fr[k], &sent[p][s], sizeof *fr) == 0);
                compared++;
            }
            free(buf);
        }
    lt_h5r_close(r);
    ck_assert_uint_ge(compared, (n - 1) * 2 * 69); /* the first window may be cut short */
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_udp_source, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_udp", 120, tests);
}
