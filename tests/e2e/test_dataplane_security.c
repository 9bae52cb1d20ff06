/* The data plane trusts no peer and no timestamp (issue 12, docs/security.md): a module trigd and
 * a cell trigd (cells 0 and 1) over tcp on loopback, attacked by independent ZeroMQ clients.
 *
 * With CURVE keys (test_curve_peers_speak_only_for_themselves):
 *  - a client with a key the module does not know is refused at the handshake;
 *  - a client holding cell 1's key sends a HEARTBEAT for cell 0 with a huge sequence number and
 *    a "restart" CANDIDATES for cell 0 (sequence 1) with a candidate that would fire the
 *    single-candidate trigger: refused as forged, no trigger from it;
 *  - the same key says hello as cell 0 on the request socket (to take its route) and sends a
 *    DATA_REPLY for cell 0 from a connection that is not cell 0's route: both refused.
 * Plain tcp with endpoints.insecure = true (test_insecure_bounds):
 *  - a HEARTBEAT with a huge sequence number, watermarks of 2^62 and an hour ahead on both
 *    cells, a far-future watermark: refused (sequence / clock fault), the horizon never moves
 *    there, the periodic trigger does not spin;
 *  - a hello claiming cell 0 from another connection while cell 0's route is alive, empty
 *    replies from a connection that is no cell's route: refused.
 * Over ipc:// (test_ipc_file_mode_and_trust): the socket files have mode 0660 and the kernel
 * refuses another user; a stranger that can reach them meets the rules that need no keys.
 * In all, the real cells keep working, the module keeps deciding (three more decisions after
 * the attack), SIGTERM ends the module cleanly within seconds and no .writing file is left. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>

#include "msg.h"
#include "test_trigd_util.h"

static char dir[256];

struct refused {
    unsigned long long forged, clock, sequence, bad_replies, triggers;
};

static int read_refused(const char *log, struct refused *r)
{
    FILE *f = fopen(log, "r");
    if (!f) return 0;
    char line[2048];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "module: ");
        const char *q = strstr(line, "refused: ");
        unsigned long long t;
        if (p && sscanf(p,
                        "module: %*u msgs (%*u bad, %*u out of order, %*u lost), %*u candidates "
                        "(%*u late), horizon %*f s, %llu triggers",
                        &t) == 1)
            r->triggers = t;
        if (q && sscanf(q, "refused: %llu forged, %llu clock, %llu sequence, %llu bad replies",
                        &r->forged, &r->clock, &r->sequence, &r->bad_replies) == 4)
            found = 1;
    }
    fclose(f);
    return found;
}

/* Decisions the single-candidate trigger proposed (bit 0 of "algorithms 0x..."). */
static int single_triggers(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[2048];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "algorithms 0x");
        unsigned a;
        if (p && sscanf(p, "algorithms 0x%x", &a) == 1 && (a & 1U)) n++;
    }
    if (f) fclose(f);
    return n;
}

static void send_msg(void *s, const void *b, size_t len)
{
    ck_assert_int_eq(zmq_send(s, b, len, 0), (int)len);
}

static void send_hb(void *s, uint32_t cell, uint64_t seq, uint64_t wm)
{
    uint8_t b[LT_MSG_HEADER_SIZE];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_heartbeat(b, sizeof b, cell, seq, wm, &len), 0);
    send_msg(s, b, len);
}

/* An empty DATA_REPLY of `cell` for trigger n (request id n). */
static void send_empty_reply(void *s, uint32_t cell, uint64_t n)
{
    uint8_t b[LT_MSG_HEADER_SIZE + LT_MSG_REPLY_FIXED_SIZE];
    struct lt_msg_reply_builder rb;
    struct lt_msg_reply_info info = {.request_id = n, .trigger_number = n, .cell = cell};
    size_t len;
    lt_msg_reply_begin(&rb, b, sizeof b, 1, 0, &info);
    ck_assert_int_eq(lt_msg_reply_finish(&rb, &len), 0);
    send_msg(s, b, len);
}

/* A client socket with CURVE keys (secret from a key file, or a fresh unknown pair). */
static void *curve_client(void *ctx, int type, const char *secret_file, const char *server_file)
{
    char server[41] = "", sec[41] = "", pub[41];
    FILE *f = fopen(server_file, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%40s", server), 1);
    fclose(f);
    if (secret_file) {
        f = fopen(secret_file, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%40s", sec), 1);
        fclose(f);
        ck_assert_int_eq(zmq_curve_public(pub, sec), 0);
    } else {
        ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
    }
    void *s = zmq_socket(ctx, type);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
    int linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return s;
}

static void *plain_client(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    int linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return s;
}

/* "tcp://127.0.0.1:<port>" in buf (64 bytes). */
static const char *tcp_ep(char *buf, int port)
{
    snprintf(buf, 64, "tcp://127.0.0.1:%d", port);
    return buf;
}

static void connect_to(void *s, int port)
{
    char ep[64];
    ck_assert_int_eq(zmq_connect(s, tcp_ep(ep, port)), 0);
}

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Start module and cell process on `sub`, their data sockets on the endpoints cand_ep
 * (candidates) and req_ep (requests); returns 1 when both run and decisions flow. */
static int start_pair_on(const char *sub, const char *endpoint_extra, const char *cand_ep,
                         const char *req_ep, pid_t *pm, pid_t *pc_pid, char *log_m, char *log_c)
{
    char conf[600];
    snprintf(conf, sizeof conf, "%s/trigd.conf", sub);
    trigd_test_write_split_conf(conf, 2, 8, cand_ep, req_ep, endpoint_extra, sub,
                                "enabled = true; min_score = 30000;");
    snprintf(log_m, 600, "%s/module.log", sub);
    snprintf(log_c, 600, "%s/cells.log", sub);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    const char *c_args[] = {"-c", conf, "--role", "cell", "--cells", "0,1", "--status-interval",
                            "0",  NULL};
    *pm = trigd_spawn(log_m, m_args);
    if (!wait_for_log(log_m, "running: role module", 20)) return 0;
    *pc_pid = trigd_spawn(log_c, c_args);
    return wait_for_log(log_m, "trigger 3 ", 40);
}

/* The same over tcp on loopback ports pc and pr. */
static int start_pair(const char *sub, const char *endpoint_extra, int pc, int pr, pid_t *pm,
                      pid_t *pc_pid, char *log_m, char *log_c)
{
    char ce[64], re[64];
    return start_pair_on(sub, endpoint_extra, tcp_ep(ce, pc), tcp_ep(re, pr), pm, pc_pid, log_m,
                         log_c);
}

/* Three more decisions, then stop: cells first (they serve the last requests), then the module,
 * which must be gone within a few seconds. Returns the module's exit status (-1: too slow). */
static int decide_then_stop(const char *log_m, const char *log_c, pid_t pm, pid_t pc, int *ok)
{
    char next[64];
    snprintf(next, sizeof next, "trigger %llu ", last_trigger(log_m) + 3);
    *ok = *ok && wait_for_log(log_m, next, 40);
    kill(pc, SIGTERM);
    *ok = *ok && wait_for_log(log_c, "serving data requests", 20);
    double t0 = mono_s();
    kill(pm, SIGTERM);
    int sm = trigd_wait(pm, 10);
    double took = mono_s() - t0;
    int sc = trigd_wait(pc, 30);
    fprintf(stderr, "module stopped in %.2f s (exit %d), cells exit %d\n", took, sm, sc);
    if (!*ok || sm || sc) {
        print_log(log_m);
        print_log(log_c);
    }
    /* Readouts in flight have reply_timeout_ms (1.5 s) at most; draining input 1 s. */
    return took < 5.0 ? sm : -1;
}

/* The end of an attack: decide_then_stop, close the attacker's sockets and context, and read
 * what the module refused; the module must have stopped cleanly. */
static void stop_and_read_refused(const char *log_m, const char *log_c, pid_t pm, pid_t pc, int ok,
                                  void *ctx, void **socks, int n_socks, struct refused *r)
{
    int st = decide_then_stop(log_m, log_c, pm, pc, &ok);
    for (int i = 0; i < n_socks; i++) zmq_close(socks[i]);
    zmq_ctx_term(ctx);
    ck_assert(ok);
    ck_assert_int_eq(st, 0);
    ck_assert(read_refused(log_m, r));
}

/* Records written in sub: count those where a fragment of `cell` is kDataNotFound after the
 * first record complete for it, and that no .writing file is left. */
static void check_files(const char *sub, size_t *n_files)
{
    int nf, nw;
    char path[600];
    ck_assert_int_eq(find_hdf5(sub, path, sizeof path, &nf, &nw), 0);
    ck_assert_int_eq(nw, 0);
    *n_files = (size_t)nf;
}

START_TEST(test_curve_peers_speak_only_for_themselves)
{
    char sub[300], log_m[600], log_c[600], keyf[400], srvf[400];
    snprintf(sub, sizeof sub, "%s/curve", dir);
    mkdir(sub, 0755);
    int pc = test_port(61), pr = test_port(62);
    pid_t pm, pcell;
    int ok = start_pair(sub, trigd_test_curve(sub, 2), pc, pr, &pm, &pcell, log_m, log_c);
    snprintf(keyf, sizeof keyf, "%s/cell-1.key", sub);
    snprintf(srvf, sizeof srvf, "%s/module.pub", sub);

    void *ctx = zmq_ctx_new();
    /* A key the module does not know: refused at the handshake. */
    void *stranger = curve_client(ctx, ZMQ_PUSH, NULL, srvf);
    connect_to(stranger, pc);
    zmq_send(stranger, "x", 1, ZMQ_DONTWAIT);
    ok = ok && wait_for_log(log_m, "client key not bound to a cell", 10);
    /* Cell 1's key speaking for cell 0. */
    void *push = curve_client(ctx, ZMQ_PUSH, keyf, srvf);
    connect_to(push, pc);
    send_hb(push, 0, 1ULL << 40, 1000);
    struct lt_candidate c = {.time_start = 1000,
                             .time_peak = 1010,
                             .time_end = 1020,
                             .cell = 0,
                             .channel_start = 1,
                             .channel_end = 5,
                             .peak_score = 32000,
                             .adc_sum = 99999,
                             .n_pixels = 9};
    uint8_t b[LT_MSG_HEADER_SIZE + LT_MSG_CANDIDATE_SIZE];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_candidates(b, sizeof b, 0, 1, 2000, &c, 1, &len), 0);
    send_msg(push, b, len);
    /* ... and on the request socket: hello as cell 0, a reply for cell 0. */
    void *dealer = curve_client(ctx, ZMQ_DEALER, keyf, srvf);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "cell-0", 6); /* the name means nothing any more */
    connect_to(dealer, pr);
    send_hb(dealer, 0, 1, 0);
    send_empty_reply(dealer, 0, last_trigger(log_m) + 1);
    ok = ok && wait_for_log(log_m, "peer authenticated as cell 1 refused", 10) &&
         wait_for_log(log_m, "hello for cell 0 refused", 10);

    int st = decide_then_stop(log_m, log_c, pm, pcell, &ok);
    zmq_close(stranger);
    zmq_close(push);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    ck_assert(ok);
    ck_assert_int_eq(st, 0);
    struct refused r = {0};
    ck_assert(read_refused(log_m, &r));
    fprintf(stderr, "curve: %llu triggers; refused %llu forged, %llu bad replies\n", r.triggers,
            r.forged, r.bad_replies);
    ck_assert_uint_ge(r.forged, 2);
    ck_assert_uint_ge(r.bad_replies, 2);
    /* The forged candidate never became a trigger, the forged restart was not taken, and the
     * real cell 0 kept its route: its requests were never unroutable. */
    ck_assert_int_eq(single_triggers(log_m), 0);
    ck_assert(!wait_for_log(log_m, "restarted its message sequence", 0.1));
    ck_assert(!wait_for_log(log_m, "unreachable for data requests", 0.1));
    size_t n_files;
    check_files(sub, &n_files);
}
END_TEST

START_TEST(test_insecure_bounds)
{
    char sub[300], log_m[600], log_c[600];
    snprintf(sub, sizeof sub, "%s/insecure", dir);
    mkdir(sub, 0755);
    int pc = test_port(63), pr = test_port(64);
    pid_t pm, pcell;
    int ok = start_pair(sub, " insecure = true; ", pc, pr, &pm, &pcell, log_m, log_c);
    ok = ok && wait_for_log(log_m, "INSECURE: the data sockets", 1);

    void *ctx = zmq_ctx_new();
    void *push = plain_client(ctx, ZMQ_PUSH), *dealer = plain_client(ctx, ZMQ_DEALER);
    connect_to(push, pc);
    connect_to(dealer, pr);
    usleep(200000);
    /* A huge sequence number on an old watermark; 2^62; an hour and far ahead on both cells. */
    send_hb(push, 0, 1ULL << 40, 1000);
    send_hb(push, 0, 1ULL << 20, 1ULL << 62);
    send_hb(push, 0, 1ULL << 20, 1ULL << 50);
    send_hb(push, 1, 1ULL << 20, 1ULL << 50);
    send_hb(push, 1, 1ULL << 20, UINT64_MAX);
    /* A hello claiming cell 0 while its route is alive: refused, cell 0 keeps its route. */
    send_hb(dealer, 0, 1, 0);
    /* Empty replies from a connection that is no cell's route. */
    uint64_t n = last_trigger(log_m);
    send_empty_reply(dealer, 0, n + 1);
    send_empty_reply(dealer, 1, n + 2);
    ok = ok && wait_for_log(log_m, "refused (clock fault)", 10) &&
         wait_for_log(log_m, "while the cell's route is alive", 10) &&
         wait_for_log(log_m, "jumps more than trigger.max_sequence_gap", 10);

    struct refused r = {0};
    void *socks[] = {push, dealer};
    stop_and_read_refused(log_m, log_c, pm, pcell, ok, ctx, socks, 2, &r);
    fprintf(stderr,
            "insecure: %llu triggers; refused %llu clock, %llu sequence, %llu bad "
            "replies\n",
            r.triggers, r.clock, r.sequence, r.bad_replies);
    ck_assert_uint_ge(r.clock, 4);
    ck_assert_uint_ge(r.sequence, 1);
    ck_assert_uint_ge(r.bad_replies, 3);
    ck_assert(!wait_for_log(log_m, "unreachable for data requests", 0.1));
    /* No jump was believed, no periodic catch-up over the forged span, no cell went missing. */
    ck_assert(!wait_for_log(log_m, "confirmed by", 0.1));
    ck_assert(!wait_for_log(log_m, "periodic trigger: data time jumped", 0.1));
    size_t n_files;
    check_files(sub, &n_files);
}
END_TEST

/* Ten `trigger` requests pipelined while no data flows (a module whose cells never came): the
 * operator thread answers every one at once instead of waiting 1.5 s on each (it also feeds
 * the systemd watchdog), and the module still stops cleanly. */
START_TEST(test_pipelined_triggers_answered_at_once)
{
    char sub[300], conf[600], text[2048], log_m[600], ctl[400];
    snprintf(sub, sizeof sub, "%s/operator", dir);
    mkdir(sub, 0755);
    snprintf(conf, sizeof conf, "%s/trigd.conf", sub);
    snprintf(log_m, sizeof log_m, "%s/module.log", sub);
    snprintf(ctl, sizeof ctl, "%s/control", sub);
    snprintf(text, sizeof text,
             "cells = ( { id = 0; }, { id = 1; } );\n"
             "endpoints = { candidates = \"tcp://127.0.0.1:%d\"; requests = "
             "\"tcp://127.0.0.1:%d\"; insecure = true; };\n"
             "writer = { output_dir = \"%s\"; };\n"
             "monitor = { control_endpoint = \"ipc://%s\"; status_endpoint = \"off\"; };\n",
             test_port(65), test_port(66), sub, ctl);
    write_file(conf, text);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    pid_t pm = trigd_spawn(log_m, m_args);
    ck_assert(wait_for_log(log_m, "running: role module", 20));
    void *ctx = zmq_ctx_new();
    void *d = plain_client(ctx, ZMQ_DEALER);
    char ep[420];
    snprintf(ep, sizeof ep, "ipc://%s", ctl);
    ck_assert_int_eq(zmq_connect(d, ep), 0);
    const char *req = "{\"cmd\":\"trigger\"}";
    double t0 = mono_s();
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(zmq_send(d, "", 0, ZMQ_SNDMORE), 0); /* the REP envelope */
        ck_assert_int_eq(zmq_send(d, req, strlen(req), 0), (int)strlen(req));
    }
    int timeout = 3000, answered = 0;
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    for (int i = 0; i < 10; i++) {
        char b[512];
        if (zmq_recv(d, b, sizeof b, 0) != 0) break; /* empty delimiter */
        int n = zmq_recv(d, b, sizeof b - 1, 0);
        if (n < 0) break;
        b[n < (int)sizeof b - 1 ? n : (int)sizeof b - 1] = '\0';
        ck_assert_msg(strstr(b, "\"queued\"") && strstr(b, "true"), "%s", b);
        answered++;
    }
    double took = mono_s() - t0;
    fprintf(stderr, "10 pipelined trigger requests answered in %.3f s\n", took);
    ck_assert_int_eq(answered, 10);
    ck_assert_msg(took < 1.0, "the operator thread waited on data (%.2f s)", took);
    zmq_close(d);
    zmq_ctx_term(ctx);
    kill(pm, SIGTERM);
    ck_assert_int_eq(trigd_wait(pm, 10), 0);
}
END_TEST

/* trigd with a descriptor limit (RLIMIT_NOFILE), as a small LimitNOFILE= would set it. */
static pid_t spawn_nofile(const char *logfile, const char *const *args, rlim_t nofile)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {nofile, nofile};
        setrlimit(RLIMIT_NOFILE, &rl);
        int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        const char *argv[16];
        int n = 0;
        argv[n++] = trigd_path();
        for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* ~300 idle peers that complete their handshake, against a module limited to 256 descriptors
 * that rolls its record file over every 2 records: beyond endpoints.max_peers new peers are
 * refused (counted), so the writer always finds a descriptor for its next file; every decision
 * is written, no .writing file is left, exit 0; once the idle peers leave, new ones are let in
 * again (the count follows disconnections). */
START_TEST(test_idle_peers_cannot_exhaust_descriptors)
{
    char sub[300], conf[600], text[4096], log_m[600], log_c[600];
    snprintf(sub, sizeof sub, "%s/peers", dir);
    mkdir(sub, 0755);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int pc = test_port(67), pr = test_port(68);
    snprintf(conf, sizeof conf, "%s/trigd.conf", sub);
    snprintf(text, sizeof text,
             "cells = ( { id = 0; }, { id = 1; } );\n"
             "sim = { seed = 9; realtime_factor = 0.02; high_energy_rate_hz = 0.0;\n"
             "        epoch_unix_s = %.3f; };\n"
             "trigger = { cell_timeout_ms = 600; coincidence = { enabled = false; };\n"
             "            single = { enabled = false; };\n"
             "            periodic = { enabled = true; period_ms = 10.0; }; };\n"
             "readout = { data_wait_ms = 800; reply_timeout_ms = 1500; };\n"
             "endpoints = { candidates = \"tcp://127.0.0.1:%d\"; requests = "
             "\"tcp://127.0.0.1:%d\"; insecure = true; max_peers = 16; };\n"
             "writer = { output_dir = \"%s\"; max_records_per_file = 2; };\n"
             "monitor = { control_endpoint = \"off\"; status_endpoint = \"off\"; };\n",
             (double)now.tv_sec + now.tv_nsec * 1e-9, pc, pr, sub);
    write_file(conf, text);
    snprintf(log_m, sizeof log_m, "%s/module.log", sub);
    snprintf(log_c, sizeof log_c, "%s/cells.log", sub);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    const char *c_args[] = {"-c", conf, "--role", "cell", "--cells", "0,1", "--status-interval",
                            "0",  NULL};
    pid_t pm = spawn_nofile(log_m, m_args, 256);
    ck_assert(wait_for_log(log_m, "running: role module", 20));
    pid_t pcell = trigd_spawn(log_c, c_args);
    int ok = wait_for_log(log_m, "trigger 3 ", 40);

    enum { N_IDLE = 300 };
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, N_IDLE + 16);
    void **idle = calloc(N_IDLE, sizeof *idle);
    for (int i = 0; i < N_IDLE; i++) {
        idle[i] = plain_client(ctx, ZMQ_PUSH);
        ck_assert_ptr_nonnull(idle[i]);
        connect_to(idle[i], pc);
    }
    ok = ok && wait_for_log(log_m, "new peer refused", 10);
    /* Decisions and file rollovers go on while the idle peers hang on. */
    char next[64];
    snprintf(next, sizeof next, "trigger %llu ", last_trigger(log_m) + 5);
    ok = ok && wait_for_log(log_m, next, 40);
    for (int i = 0; i < N_IDLE; i++) zmq_close(idle[i]);
    free(idle);
    usleep(1000000);
    /* The idle peers are gone: a new peer is let in (its stale heartbeat is counted out of
     * order, which only an admitted message can be). */
    void *late = plain_client(ctx, ZMQ_PUSH);
    connect_to(late, pc);
    send_hb(late, 0, 1, 5);
    usleep(500000);

    int st = decide_then_stop(log_m, log_c, pm, pcell, &ok);
    zmq_close(late);
    zmq_ctx_term(ctx);
    ck_assert(ok);
    ck_assert_int_eq(st, 0);
    FILE *f = fopen(log_m, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    unsigned long long ooo = 0, built = 0, written = 0, failed = 99, peers = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "module: ");
        if (p) sscanf(p, "module: %*u msgs (%*u bad, %llu out of order", &ooo);
        const char *q = strstr(line, "records ");
        if (p && q)
            sscanf(q, "records %llu built %llu written %llu failed", &built, &written, &failed);
        const char *r = strstr(line, "bad replies, ");
        if (r) sscanf(r, "bad replies, %llu peers", &peers);
    }
    fclose(f);
    fprintf(stderr, "idle peers: %llu refused; records %llu built %llu written %llu failed\n",
            peers, built, written, failed);
    ck_assert_uint_ge(peers, N_IDLE / 2);
    ck_assert_uint_ge(ooo, 1);
    ck_assert_uint_eq(failed, 0);
    ck_assert_uint_eq(written, built);
    ck_assert(!wait_for_log(log_m, "Too many open files", 0.1));
    size_t n_files;
    check_files(sub, &n_files);
    ck_assert_uint_ge(n_files, 3);
}
END_TEST

/* Connects to the unix socket at path as user and group nobody (65534), in a child: 0 when the
 * kernel let it, else the errno (EACCES: refused by the file's mode); -1 when the path could not
 * even be looked up (so a refusal is the socket's mode, not a directory on the way). */
static int connect_as_nobody(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct stat sb;
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) _exit(120);
        if (stat(path, &sb) != 0) _exit(121);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) _exit(0);
        _exit(errno > 0 && errno < 120 ? errno : 122);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 123;
    return code == 121 ? -1 : code;
}

/* The data sockets over ipc:// (a module and a cell process on one host): no CURVE there, the
 * socket file's mode (0660, docs/security.md) is the access control, and the kernel enforces it
 * (a process of another user cannot connect). A client that can reach the files is a peer
 * without identity, so the rules that need no keys hold as over insecure tcp: a cell id that is
 * not configured is refused, a stranger's huge sequence number moves no state (no messages
 * counted lost), a time beyond the bound is a clock fault, a hello claiming a live cell's route
 * and a reply from a connection that is no cell's route are refused; the real cells keep
 * working and the module keeps deciding. */
START_TEST(test_ipc_file_mode_and_trust)
{
    char sub[300], log_m[600], log_c[600], cand[400], req[400];
    snprintf(sub, sizeof sub, "%s/ipc", dir);
    mkdir(sub, 0755);
    chmod(dir, 0711); /* others may look the sockets up: only their own mode stands in the way */
    snprintf(cand, sizeof cand, "ipc://%s/candidates", sub);
    snprintf(req, sizeof req, "ipc://%s/requests", sub);
    pid_t pm, pcell;
    int ok = start_pair_on(sub, "", cand, req, &pm, &pcell, log_m, log_c);
    ck_assert(!wait_for_log(log_m, "INSECURE", 0.1)); /* ipc is not insecure tcp */
    const char *files[2] = {cand + 6, req + 6};
    for (int i = 0; i < 2; i++) {
        struct stat sb;
        ck_assert_int_eq(stat(files[i], &sb), 0);
        ck_assert(S_ISSOCK(sb.st_mode));
        ck_assert_msg((sb.st_mode & 0777) == 0660, "%s has mode %o, 0660 documented", files[i],
                      (unsigned)(sb.st_mode & 0777));
        if (geteuid() == 0) /* root can become a stranger: the kernel refuses it */
            ck_assert_int_eq(connect_as_nobody(files[i]), EACCES);
    }

    void *ctx = zmq_ctx_new();
    void *push = plain_client(ctx, ZMQ_PUSH), *dealer = plain_client(ctx, ZMQ_DEALER);
    ck_assert_int_eq(zmq_connect(push, cand), 0);
    ck_assert_int_eq(zmq_connect(dealer, req), 0);
    usleep(200000);
    send_hb(push, 7, 1, 1000);                /* cell 7 is not configured */
    send_hb(push, 0, 1ULL << 40, 1000);       /* a huge sequence number for a real cell */
    send_hb(push, 1, 1ULL << 20, 1ULL << 62); /* a time far beyond the bound */
    send_hb(dealer, 0, 1, 0);                 /* hello as cell 0 while its route is alive */
    send_empty_reply(dealer, 0, last_trigger(log_m) + 1);
    ok = ok && wait_for_log(log_m, "cell 7 is not configured", 10) &&
         wait_for_log(log_m, "jumps more than trigger.max_sequence_gap", 10) &&
         wait_for_log(log_m, "refused (clock fault)", 10) &&
         wait_for_log(log_m, "while the cell's route is alive", 10);

    struct refused r = {0};
    void *socks[] = {push, dealer};
    stop_and_read_refused(log_m, log_c, pm, pcell, ok, ctx, socks, 2, &r);
    FILE *f = fopen(log_m, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    unsigned long long bad = 0, lost = ~0ULL;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "module: ");
        if (p) sscanf(p, "module: %*u msgs (%llu bad, %*u out of order, %llu lost)", &bad, &lost);
    }
    fclose(f);
    fprintf(stderr,
            "ipc: %llu triggers; %llu bad, %llu lost; refused %llu clock, %llu sequence, %llu "
            "bad replies\n",
            r.triggers, bad, lost, r.clock, r.sequence, r.bad_replies);
    ck_assert_uint_ge(bad, 1);
    ck_assert_uint_lt(lost, 1000); /* believing the forged number would count ~1.1e12 */
    ck_assert_uint_ge(r.sequence, 1);
    ck_assert_uint_ge(r.clock, 1);
    ck_assert_uint_ge(r.bad_replies, 1);
    ck_assert(!wait_for_log(log_m, "unreachable for data requests", 0.1));
    size_t n_files;
    check_files(sub, &n_files);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_curve_peers_speak_only_for_themselves,
                                  test_insecure_bounds,
                                  test_pipelined_triggers_answered_at_once,
                                  test_idle_peers_cannot_exhaust_descriptors,
                                  test_ipc_file_mode_and_trust,
                                  NULL};
    return trigd_e2e_main(dir, sizeof dir, "dataplane_security", 200, tests);
}
