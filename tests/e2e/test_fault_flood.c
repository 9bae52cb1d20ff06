/* Flooding and malformed traffic on every socket a `module` trigd binds, while a real cell
 * process feeds it and periodic triggers are read out:
 *  - a raw ZMTP peer that announces an oversized message (1 GiB) on the candidate PULL and on
 *    the request ROUTER is disconnected by libzmq at once (ZMQ_MAXMSGSIZE), before anything is
 *    allocated; without the option the connection would stay open waiting for the gigabyte;
 *  - raw TCP connections that write random bytes (no ZMTP greeting) are dropped;
 *  - a PUSH peer sends tens of thousands of random and truncated messages as fast as it can:
 *    every one is counted bad (exactly), none is taken for a candidate;
 *  - a DEALER peer with its own routing id sends random "replies": counted bad, dropped;
 *  - the control socket (REP, ipc) gets 3000 random / truncated / unknown requests: each gets a
 *    JSON error reply, a real `status` request is still served; the monitor (PUB) gets 20000
 *    random subscription messages and still publishes; both refuse a 1 GiB announcement, and
 *    the control socket one just above its 64 KiB request bound;
 *  - meanwhile decisions go on and every decision becomes a written record.
 * Counters come from the daemon's final status line. Test protocol test_trigd_protocol covers
 * each kind of malformed message once; this one is about rate, size and the other sockets. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>

#include "ctl.h"
#include "test_trigd_util.h"

static char dir[256];

/* --- a minimal ZMTP 3.0 client (NULL mechanism), enough to announce a frame size --- */

static char ipc_path[2][300]; /* control, monitor: ipc socket files of the module */

/* port > 0: 127.0.0.1:port; port < 0: the ipc socket file ipc_path[-port - 1]. */
static int tcp_connect(int port)
{
    if (port < 0) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un su = {.sun_family = AF_UNIX};
        int n = snprintf(su.sun_path, sizeof su.sun_path, "%s", ipc_path[-port - 1]);
        if (fd < 0 || n < 0 || (size_t)n >= sizeof su.sun_path ||
            connect(fd, (struct sockaddr *)&su, sizeof su) < 0) {
            if (fd >= 0) close(fd);
            return -1;
        }
        return fd;
    }

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static int read_n(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, timeout_ms) <= 0) return -1;
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Greeting + READY as `socket_type`; returns the fd ready for message frames, or -1. */
static int zmtp_handshake(int port, const char *socket_type)
{
    int fd = tcp_connect(port);
    if (fd < 0) return -1;
    uint8_t g[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0, 'N', 'U', 'L', 'L'};
    uint8_t peer[64];
    if (write_all(fd, g, sizeof g) || read_n(fd, peer, sizeof peer, 3000)) goto fail;
    uint8_t cmd[128];
    size_t n = 0, tl = strlen(socket_type);
    cmd[n++] = 0x04; /* short command */
    cmd[n++] = 0;    /* size, below */
    cmd[n++] = 5;
    memcpy(cmd + n, "READY", 5);
    n += 5;
    cmd[n++] = 11;
    memcpy(cmd + n, "Socket-Type", 11);
    n += 11;
    cmd[n++] = 0, cmd[n++] = 0, cmd[n++] = 0, cmd[n++] = (uint8_t)tl;
    memcpy(cmd + n, socket_type, tl);
    n += tl;
    cmd[1] = (uint8_t)(n - 2);
    if (write_all(fd, cmd, n)) goto fail;
    uint8_t hdr[2], body[255];
    if (read_n(fd, hdr, 2, 3000) || hdr[0] != 0x04 || read_n(fd, body, hdr[1], 3000)) goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* 1 when the server closes the connection within timeout_ms after we announce `size` bytes. */
static int oversized_is_refused(int port, const char *socket_type, uint64_t size, int timeout_ms)
{
    int fd = zmtp_handshake(port, socket_type);
    ck_assert_msg(fd >= 0, "ZMTP handshake with port %d failed", port);
    uint8_t h[9] = {0x02}; /* long message frame, last part */
    for (int i = 0; i < 8; i++) h[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    ck_assert_int_eq(write_all(fd, h, sizeof h), 0);
    static uint8_t junk[4096];
    (void)write_all(fd, junk, sizeof junk); /* the start of the "payload" */
    int closed = 0;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, timeout_ms) == 1) {
        uint8_t b[64];
        closed = read(fd, b, sizeof b) <= 0;
    }
    close(fd);
    return closed;
}

/* --- random bytes on raw TCP, from a thread --- */
struct raw_flood {
    int port[2];
    int rounds;
    unsigned long long bytes;
};

static void *raw_flood_main(void *arg)
{
    struct raw_flood *f = arg;
    static uint8_t junk[16384];
    unsigned s = 12345;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(rand_r(&s) >> 7);
    for (int r = 0; r < f->rounds; r++) {
        int fd = tcp_connect(f->port[r & 1]);
        if (fd < 0) continue;
        if (write_all(fd, junk, sizeof junk) == 0) f->bytes += sizeof junk;
        close(fd);
    }
    return NULL;
}

/* The counters of the last "module: " status line (format of daemon/pipeline/run.c). */
struct module_counters {
    unsigned long long msgs, bad, ooo, lost, cands, late, triggers, single, coinc, summed, periodic,
        random, inhibited, missing, built, written, failed, not_found;
};

static void read_module_counters(const char *log, struct module_counters *c)
{
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    int found = 0;
    double horizon, p50, p99;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "module: ");
        if (p && sscanf(p,
                        "module: %llu msgs (%llu bad, %llu out of order, %llu lost), %llu "
                        "candidates (%llu late), horizon %lf s, %llu triggers (single %llu, "
                        "coincidence %llu, summed %llu, periodic %llu, random %llu), %llu "
                        "inhibited, %llu cells missing, latency p50 %lf ms p99 %lf ms, records "
                        "%llu built %llu written %llu failed, %llu fragments not found",
                        &c->msgs, &c->bad, &c->ooo, &c->lost, &c->cands, &c->late, &horizon,
                        &c->triggers, &c->single, &c->coinc, &c->summed, &c->periodic, &c->random,
                        &c->inhibited, &c->missing, &p50, &p99, &c->built, &c->written, &c->failed,
                        &c->not_found) == 21)
            found = 1;
    }
    fclose(f);
    ck_assert_msg(found, "no complete module status line in %s", log);
}

/* The highest "trigger N at" number in the log so far. */
static int max_trigger(const char *log)
{
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    int best = 0, n;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "trigger ");
        if (p && sscanf(p, "trigger %d at", &n) == 1 && n > best) best = n;
    }
    fclose(f);
    return best;
}

START_TEST(test_flood_every_socket)
{
    char conf[512], text[4096], log_m[512], log_c[512];
    int pc = test_port(21), pr = test_port(22);
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    snprintf(log_m, sizeof log_m, "%s/module.log", dir);
    snprintf(log_c, sizeof log_c, "%s/cell.log", dir);
    snprintf(text, sizeof text,
             "cells = ( { id = 0; }, { id = 1; } );\n"
             "sim = { seed = 5; realtime_factor = 0.02; high_energy_rate_hz = 0.0; };\n"
             "trigger = { cell_timeout_ms = 3000; coincidence = { enabled = false; };\n"
             "            single = { enabled = false; };\n"
             "            periodic = { enabled = true; period_ms = 10.0; }; };\n"
             "readout = { data_wait_ms = 1000; reply_timeout_ms = 3000; };\n"
             "endpoints = { candidates = \"tcp://127.0.0.1:%d\"; requests = "
             "\"tcp://127.0.0.1:%d\"; insecure = true; };\n"
             "writer = { output_dir = \"%s\"; };\n",
             pc, pr, dir);
    /* The cell process gets no operator sockets; the module's are ipc files in dir. */
    char conf_c[600], text_c[4300];
    snprintf(conf_c, sizeof conf_c, "%s/cell.conf", dir);
    snprintf(text_c, sizeof text_c,
             "%smonitor = { control_endpoint = \"off\"; status_endpoint = \"off\"; };\n", text);
    write_file(conf_c, text_c);
    snprintf(ipc_path[0], sizeof ipc_path[0], "%s/control", dir);
    snprintf(ipc_path[1], sizeof ipc_path[1], "%s/monitor", dir);
    size_t tl = strlen(text);
    snprintf(text + tl, sizeof text - tl,
             "monitor = { control_endpoint = \"ipc://%s\"; status_endpoint = \"ipc://%s\"; };\n",
             ipc_path[0], ipc_path[1]);
    write_file(conf, text);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    const char *c_args[] = {"-c", conf_c, "--role", "cell", "--status-interval", "0", NULL};
    pid_t pm = trigd_spawn(log_m, m_args);
    ck_assert(wait_for_log(log_m, "running: role module", 20));

    /* Oversized announcements first, on an idle module: refused on both bound sockets. */
    ck_assert_msg(oversized_is_refused(pc, "PUSH", 1ULL << 30, 3000),
                  "candidate socket kept a peer announcing 1 GiB (ZMQ_MAXMSGSIZE not set?)");
    ck_assert_msg(oversized_is_refused(pr, "DEALER", 1ULL << 30, 3000),
                  "request socket kept a peer announcing 1 GiB (ZMQ_MAXMSGSIZE not set?)");
    ck_assert_msg(oversized_is_refused(-1, "DEALER", 1ULL << 30, 3000),
                  "control socket kept a peer announcing 1 GiB (ZMQ_MAXMSGSIZE not set?)");
    ck_assert_msg(oversized_is_refused(-2, "SUB", 1ULL << 30, 3000),
                  "monitor socket kept a peer announcing 1 GiB (ZMQ_MAXMSGSIZE not set?)");
    /* Just above what the control socket receives (the 64 KiB request bound plus room to answer
     * a larger request "request too large", test_ctl): refused as well. */
    ck_assert(oversized_is_refused(-1, "DEALER", LT_CTL_MAX_WIRE + 1, 3000));
    /* The largest valid CANDIDATES size still gets through: the flood below sends messages of
     * exactly that size, and the exact bad count shows each one arrived. */

    pid_t pcell = trigd_spawn(log_c, c_args);
    ck_assert(wait_for_log(log_m, "trigger 3 ", 40));

    /* The flood, while the cells run. */
    struct raw_flood rf = {{pc, pr}, 400, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, raw_flood_main, &rf), 0);
    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    char ep[400];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pc);
    ck_assert_int_eq(zmq_connect(push, ep), 0);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pr);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "intruder", 8);
    ck_assert_int_eq(zmq_connect(dealer, ep), 0);
    static uint8_t m[24616];
    unsigned seed = 99;
    for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)(rand_r(&seed) >> 5);
    const double t0 = lt_mono_s();
    const int n_push = 60000, n_dealer = 3000;
    int sent_push = 0;
    for (int i = 0; i < n_push; i++) {
        /* Mostly short (header-sized, truncated) ones, some up to the largest valid size. */
        size_t len = (i % 100 == 0) ? sizeof m : 1 + (size_t)rand_r(&seed) % 200;
        m[0] = (uint8_t)i;
        if (zmq_send(push, m, len, 0) == (int)len) sent_push++;
        if (i < n_dealer) zmq_send(dealer, m + 7, 1 + (size_t)rand_r(&seed) % 3000, 0);
    }
    const double secs = lt_mono_s() - t0;
    pthread_join(th, NULL);
    fprintf(stderr, "flood: %d random messages in %.2f s (%.0f/s), %llu raw bytes\n", sent_push,
            secs, sent_push / secs, rf.bytes);
    ck_assert_int_eq(sent_push, n_push);
    int linger = 5000;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(push);
    zmq_close(dealer);
    zmq_ctx_term(ctx); /* every message delivered */

    /* The control socket (REP): random, truncated and unknown requests pipelined from a
     * DEALER; every one gets a JSON error reply, and a real request still works after them. */
    void *ctx2 = zmq_ctx_new();
    void *ctl = zmq_socket(ctx2, ZMQ_DEALER), *xsub = zmq_socket(ctx2, ZMQ_XSUB);
    snprintf(ep, sizeof ep, "ipc://%s", ipc_path[0]);
    ck_assert_int_eq(zmq_connect(ctl, ep), 0);
    snprintf(ep, sizeof ep, "ipc://%s", ipc_path[1]);
    ck_assert_int_eq(zmq_connect(xsub, ep), 0);
    const int n_ctl = 3000, n_sub = 20000;
    static const char *const forms[] = {"{\"cmd\":\"sta", "{\"cmd\":42}", "{\"cmd\":\"explode\"}",
                                        "[1,2,3]",        "{}",           "null"};
    /* Pipelined in batches of 500: a REP socket drops replies (libzmq's own rule) once its
     * peer's receive queue (HWM 1000) is full, so the test reads between batches. */
    int replies = 0, errors = 0;
    static char rbuf[70000];
    zmq_pollitem_t pi = {.socket = ctl, .events = ZMQ_POLLIN};
    for (int i = 0; i < n_ctl;) {
        for (int k = 0; k < 500 && i < n_ctl; k++, i++) {
            ck_assert_int_eq(zmq_send(ctl, "", 0, ZMQ_SNDMORE), 0);
            if (i % 2)
                ck_assert_int_ge(zmq_send(ctl, m + 11, 1 + (size_t)rand_r(&seed) % 5000, 0), 1);
            else
                ck_assert_int_ge(zmq_send(ctl, forms[(i / 2) % 6], strlen(forms[(i / 2) % 6]), 0),
                                 1);
        }
        while (replies < i && zmq_poll(&pi, 1, 5000) == 1) {
            ck_assert_int_eq(zmq_recv(ctl, rbuf, sizeof rbuf, 0), 0); /* empty delimiter */
            int n = zmq_recv(ctl, rbuf, sizeof rbuf - 1, 0);
            ck_assert_int_gt(n, 0);
            rbuf[n] = 0;
            replies++;
            if (strstr(rbuf, "\"ok\": false") || strstr(rbuf, "\"ok\":false")) errors++;
        }
    }
    for (int i = 0; i < n_sub; i++) zmq_send(xsub, m + (i % 5000), 1 + (size_t)(i % 300), 0);
    fprintf(stderr, "control: %d bad requests, %d replies, %d errors\n", n_ctl, replies, errors);
    ck_assert_int_eq(replies, n_ctl);
    ck_assert_int_eq(errors, n_ctl);
    ck_assert_int_eq(zmq_send(ctl, "", 0, ZMQ_SNDMORE), 0);
    ck_assert_int_eq(zmq_send(ctl, "{\"cmd\":\"status\"}", 16, 0), 16);
    ck_assert_int_eq(zmq_poll(&pi, 1, 5000), 1);
    zmq_recv(ctl, rbuf, sizeof rbuf, 0);
    int n = zmq_recv(ctl, rbuf, sizeof rbuf - 1, 0);
    ck_assert_int_gt(n, 0);
    rbuf[n] = 0;
    ck_assert_msg(strstr(rbuf, "\"aggregator\""), "status after the flood: %.200s", rbuf);
    /* The monitor (PUB) still publishes after 20000 random subscription messages. */
    void *sub = zmq_socket(ctx2, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "status", 6);
    ck_assert_int_eq(zmq_connect(sub, ep), 0);
    zmq_pollitem_t ps = {.socket = sub, .events = ZMQ_POLLIN};
    ck_assert_msg(zmq_poll(&ps, 1, 5000) == 1, "no status published after the monitor flood");
    zmq_close(sub);
    zmq_close(ctl);
    zmq_close(xsub);
    zmq_ctx_term(ctx2);

    /* Decisions still go on after the flood: two more than when it ended. */
    char next[64];
    snprintf(next, sizeof next, "trigger %d at", max_trigger(log_m) + 2);
    ck_assert_msg(wait_for_log(log_m, next, 30), "no \"%s\" after the flood", next);
    ck_assert_int_eq(kill(pm, 0), 0);
    kill(pcell, SIGTERM);
    int ok = wait_for_log(log_c, "serving data requests", 30);
    kill(pm, SIGTERM);
    int sm = trigd_wait(pm, 60), sc = trigd_wait(pcell, 30);
    if (!ok || sm || sc) {
        print_log(log_m);
        print_log(log_c);
    }
    ck_assert(ok);
    ck_assert_int_eq(sm, 0);
    ck_assert_int_eq(sc, 0);

    struct module_counters c;
    read_module_counters(log_m, &c);
    fprintf(stderr, "module: %llu msgs, %llu bad, %llu triggers, %llu records written\n", c.msgs,
            c.bad, c.triggers, c.written);
    /* Every random PUSH message is counted bad; so are the frames libzmq decodes from the raw
     * random bytes (a first byte other than 0xFF makes it take the peer for ZMTP 1.0). */
    ck_assert_uint_ge(c.bad, (unsigned long long)n_push);
    ck_assert_uint_eq(c.ooo, 0);
    ck_assert_uint_eq(c.failed, 0);
    ck_assert_uint_ge(c.triggers, 5);
    ck_assert_uint_eq(c.written, c.triggers); /* every decision has its record */
    ck_assert(wait_for_log(log_m, "bad data reply dropped", 1));
    /* The log stays bounded: rate-limited warnings, not one line per bad message. */
    struct stat sb;
    ck_assert_int_eq(stat(log_m, &sb), 0);
    ck_assert_int_lt(sb.st_size, 1 << 20);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_flood_every_socket, NULL};
    return trigd_e2e_main(dir, sizeof dir, "fault_flood", 240, tests);
}
