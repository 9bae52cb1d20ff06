#include "socket_security.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "lt_error.h"

struct lt_zap {
    void *sock; /* REP on inproc://zeromq.zap.01, owned by the handler thread once started */
    pthread_t thread;
    atomic_bool stop;
    _Atomic uint64_t accepted;
    _Atomic uint64_t refused;
    int n_keys;
    char keys[LT_ZAP_MAX_KEYS][LT_Z85_KEY_LEN + 1];
    /* Data sockets (lt_zap_start_cells): keys bound to cells instead, cell_keys[i] to
     * cell_ids[i]; the peer's User-Id becomes "cell-<id>". */
    int n_cell_keys;
    char (*cell_keys)[LT_Z85_KEY_LEN + 1];
    uint32_t *cell_ids;
    int allow_null; /* data sockets without keys (insecure): NULL-mechanism peers, bound only */
    /* Peer bound (data sockets): connections of the watched sockets, from their monitors
     * (accepted - disconnected), read by the handler thread itself. */
    void *mon[LT_ZAP_MAX_WATCH];
    int n_mon;
    int64_t live;
    int64_t max_peers; /* 0 = no bound */
    _Atomic uint64_t refused_limit;
};

static int is_z85_char(char c)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    return c != '\0' && strchr(alphabet, c) != NULL;
}

int lt_zsec_read_keys(const char *path, char (*keys)[LT_Z85_KEY_LEN + 1], int max, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        lt_seterr(err, errlen, "%s: cannot open allow-list: %s", path, strerror(errno));
        return LT_EIO;
    }
    char line[256];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#') continue; /* comment line; '#' is also a Z85 digit, so only here */
        size_t len = strcspn(p, " \t\r\n");
        if (len == 0) continue; /* blank line */
        int ok = len == LT_Z85_KEY_LEN;
        for (size_t i = 0; ok && i < len; i++) ok = is_z85_char(p[i]);
        if (!ok) {
            lt_seterr(err, errlen, "%s:%d: not a 40-character Z85 public key", path, lineno);
            fclose(f);
            return LT_EFORMAT;
        }
        if (n == max) {
            lt_seterr(err, errlen, "%s:%d: more than %d keys", path, lineno, max);
            fclose(f);
            return LT_ERANGE;
        }
        memcpy(keys[n], p, LT_Z85_KEY_LEN);
        keys[n][LT_Z85_KEY_LEN] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

/* Receive one frame into buf (truncated to cap); returns its size or -1. *more says whether
 * further frames follow. */
static int recv_frame(void *sock, char *buf, size_t cap, int *more)
{
    int n = zmq_recv(sock, buf, cap, 0);
    if (n < 0) return -1;
    int m = 0;
    size_t msz = sizeof m;
    zmq_getsockopt(sock, ZMQ_RCVMORE, &m, &msz);
    *more = m;
    return n;
}

static void zap_reply(void *sock, const char *request_id, int id_len, int ok, const char *text,
                      const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, request_id, (size_t)id_len, ZMQ_SNDMORE);
    zmq_send(sock, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, ok ? user : "", ok ? strlen(user) : 0, ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

/* A data-socket peer: its key must be bound to a cell; it speaks as "cell-<id>" (the User-Id
 * each of its messages carries). Routes are never taken from a name a peer chose: the module's
 * ROUTER assigns routing ids and learns cells from authenticated hellos. */
static int zap_check_cell(const struct lt_zap *z, const char *z85, char *user, size_t ulen,
                          const char **why)
{
    for (int i = 0; i < z->n_cell_keys; i++) {
        if (strcmp(z85, z->cell_keys[i]) != 0) continue;
        snprintf(user, ulen, "cell-%u", z->cell_ids[i]);
        return 1;
    }
    *why = "client key not bound to a cell";
    return 0;
}

/* Monitor events of a watched socket: a connection accepted or gone. */
static void zap_monitor_event(struct lt_zap *z, void *mon)
{
    uint8_t ev[6];
    char addr[256];
    int more = 0;
    if (recv_frame(mon, (char *)ev, sizeof ev, &more) < 6) return;
    while (more && recv_frame(mon, addr, sizeof addr, &more) >= 0) {
    }
    uint16_t event = (uint16_t)(ev[0] | ev[1] << 8);
    if (event == ZMQ_EVENT_ACCEPTED) z->live++;
    if (event == ZMQ_EVENT_DISCONNECTED && z->live > 0) z->live--;
}

/* One ZAP request: version, request id, domain, address, identity, mechanism, credentials. */
static void zap_handle(struct lt_zap *z)
{
    char frames[7][256];
    int sizes[7] = {0};
    int more = 1, n = 0;
    while (more) {
        char scratch[256];
        char *dst = n < 7 ? frames[n] : scratch;
        int sz = recv_frame(z->sock, dst, 255, &more);
        if (sz < 0) return;
        if (n < 7) sizes[n] = sz > 255 ? 255 : sz;
        n++;
    }
    const char *request_id = n > 1 ? frames[1] : "";
    int id_len = n > 1 ? sizes[1] : 0;
    int ok = 0;
    const char *why = "malformed ZAP request";
    char user[32] = "client";
    if (z->max_peers && z->live > z->max_peers) {
        /* Idle connections must not exhaust the process's descriptors (the writer needs them
         * to open its next file): beyond the bound, new peers are turned away. */
        why = "peer limit reached";
        atomic_fetch_add(&z->refused_limit, 1);
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "data sockets: %lld connections, more than the %lld allowed "
                           "(endpoints.max_peers): new peer refused",
                           (long long)z->live, (long long)z->max_peers);
    } else if (n >= 6 && z->allow_null && sizes[5] == 4 && memcmp(frames[5], "NULL", 4) == 0) {
        ok = 1;
    } else if (n >= 7 && sizes[0] == 3 && memcmp(frames[0], "1.0", 3) == 0) {
        if (sizes[5] == 5 && memcmp(frames[5], "CURVE", 5) == 0 && sizes[6] == 32) {
            char z85[LT_Z85_KEY_LEN + 1];
            zmq_z85_encode(z85, (const uint8_t *)frames[6], 32);
            why = "client key not in allow-list";
            if (z->cell_keys)
                ok = zap_check_cell(z, z85, user, sizeof user, &why);
            else
                for (int i = 0; i < z->n_keys && !ok; i++) ok = strcmp(z85, z->keys[i]) == 0;
            if (!ok) {
                char addr[64];
                int alen = sizes[3] < 63 ? sizes[3] : 63;
                memcpy(addr, frames[3], (size_t)alen);
                addr[alen] = '\0';
                LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5, "refused connection from %s: key %s: %s",
                                   addr, z85, why);
            }
        } else {
            why = "only CURVE clients are accepted";
        }
    }
    if (ok) {
        atomic_fetch_add(&z->accepted, 1);
        why = "OK";
    } else {
        atomic_fetch_add(&z->refused, 1);
    }
    zap_reply(z->sock, request_id, id_len, ok, why, user);
}

static void *zap_thread(void *arg)
{
    struct lt_zap *z = arg;
    zmq_pollitem_t items[1 + LT_ZAP_MAX_WATCH];
    items[0] = (zmq_pollitem_t){.socket = z->sock, .events = ZMQ_POLLIN};
    for (int i = 0; i < z->n_mon; i++)
        items[1 + i] = (zmq_pollitem_t){.socket = z->mon[i], .events = ZMQ_POLLIN};
    while (!atomic_load(&z->stop)) {
        int rc = zmq_poll(items, 1 + z->n_mon, 100);
        if (rc < 0) {
            if (zmq_errno() == ETERM) break;
            continue;
        }
        /* Connection events first, so the peer being authenticated is already counted. */
        for (int i = 0; i < z->n_mon; i++)
            while (zmq_poll(&items[1 + i], 1, 0) > 0) zap_monitor_event(z, z->mon[i]);
        if (items[0].revents & ZMQ_POLLIN) zap_handle(z);
    }
    for (int i = 0; i < z->n_mon; i++) zmq_close(z->mon[i]);
    zmq_close(z->sock);
    return NULL;
}

static void zap_free(struct lt_zap *z)
{
    free(z->cell_keys);
    free(z->cell_ids);
    free(z);
}

static int zap_run(void *zctx, struct lt_zap *z, struct lt_zap **out, char *err, size_t errlen);

int lt_zap_start(void *zctx, const char *allowed_keys_file, struct lt_zap **out, char *err,
                 size_t errlen)
{
    struct lt_zap *z = calloc(1, sizeof *z);
    if (!z) return LT_ENOMEM;
    int n = lt_zsec_read_keys(allowed_keys_file, z->keys, LT_ZAP_MAX_KEYS, err, errlen);
    if (n < 0) {
        free(z);
        return n;
    }
    z->n_keys = n;
    return zap_run(zctx, z, out, err, errlen);
}

int lt_zsec_read_cell_keys(const char *path, char (*keys)[LT_Z85_KEY_LEN + 1], uint32_t *ids,
                           int max, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        lt_seterr(err, errlen, "%s: cannot open cell key list: %s", path, strerror(errno));
        return LT_EIO;
    }
    char line[256];
    int n = 0, lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p) continue;
        size_t len = strcspn(p, " \t\r\n");
        int ok = len == LT_Z85_KEY_LEN;
        for (size_t i = 0; ok && i < len; i++) ok = is_z85_char(p[i]);
        char *q = p + len, *end = NULL;
        q += strspn(q, " \t");
        unsigned long id = ok && *q >= '0' && *q <= '9' ? strtoul(q, &end, 10) : 0;
        if (!ok || !end || id > LT_ZAP_MAX_CELL_ID || (*end && !strchr(" \t\r\n#", *end))) {
            lt_seterr(err, errlen, "%s:%d: expected a 40-character Z85 public key and a cell id",
                      path, lineno);
            rc = LT_EFORMAT;
            break;
        }
        for (int i = 0; i < n && !rc; i++)
            if (ids[i] == id || !memcmp(keys[i], p, LT_Z85_KEY_LEN)) {
                /* One key, one cell: a key listed for two cells could speak for both. */
                lt_seterr(err, errlen, "%s:%d: cell %lu or its key is listed twice", path, lineno,
                          id);
                rc = LT_EFORMAT;
            }
        if (!rc && n == max) {
            lt_seterr(err, errlen, "%s:%d: more than %d keys", path, lineno, max);
            rc = LT_ERANGE;
        }
        if (rc) break;
        memcpy(keys[n], p, LT_Z85_KEY_LEN);
        keys[n][LT_Z85_KEY_LEN] = '\0';
        ids[n++] = (uint32_t)id;
    }
    fclose(f);
    return rc ? rc : n;
}

int lt_zap_start_cells(void *zctx, const char *cell_keys_file, void *const *watch, int n_watch,
                       int64_t max_peers, struct lt_zap **out, char *err, size_t errlen)
{
    struct lt_zap *z = calloc(1, sizeof *z);
    if (z) {
        z->cell_keys = calloc(LT_ZAP_MAX_CELL_ID + 1, sizeof *z->cell_keys);
        z->cell_ids = calloc(LT_ZAP_MAX_CELL_ID + 1, sizeof *z->cell_ids);
    }
    if (!z || !z->cell_keys || !z->cell_ids) {
        if (z) zap_free(z);
        lt_seterr(err, errlen, "ZAP handler: out of memory");
        return LT_ENOMEM;
    }
    int n = 0;
    if (cell_keys_file)
        n = lt_zsec_read_cell_keys(cell_keys_file, z->cell_keys, z->cell_ids,
                                   LT_ZAP_MAX_CELL_ID + 1, err, errlen);
    else
        z->allow_null = 1;
    if (n < 0) {
        zap_free(z);
        return n;
    }
    z->n_cell_keys = n;
    z->max_peers = max_peers;
    for (int i = 0; i < n_watch && i < LT_ZAP_MAX_WATCH; i++) {
        char ep[96];
        snprintf(ep, sizeof ep, "inproc://lartrig-zap-monitor-%p-%d", (void *)z, i);
        z->mon[i] = zmq_socket(zctx, ZMQ_PAIR);
        if (!z->mon[i] ||
            zmq_socket_monitor(watch[i], ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 ||
            zmq_connect(z->mon[i], ep) != 0) {
            lt_seterr(err, errlen, "cannot watch the data sockets' connections: %s",
                      zmq_strerror(zmq_errno()));
            if (z->mon[i]) zmq_close(z->mon[i]);
            for (int k = 0; k < i; k++) zmq_close(z->mon[k]);
            zap_free(z);
            return LT_EIO;
        }
        z->n_mon = i + 1;
    }
    return zap_run(zctx, z, out, err, errlen);
}

static int zap_run(void *zctx, struct lt_zap *z, struct lt_zap **out, char *err, size_t errlen)
{
    z->sock = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (!z->sock || zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
        lt_seterr(err, errlen, "cannot start ZAP handler: %s", zmq_strerror(zmq_errno()));
        if (z->sock) zmq_close(z->sock);
        for (int i = 0; i < z->n_mon; i++) zmq_close(z->mon[i]);
        zap_free(z);
        return LT_EIO;
    }
    if (pthread_create(&z->thread, NULL, zap_thread, z) != 0) {
        for (int i = 0; i < z->n_mon; i++) zmq_close(z->mon[i]);
        zmq_close(z->sock);
        zap_free(z);
        lt_seterr(err, errlen, "cannot start ZAP thread");
        return LT_ENOMEM;
    }
    *out = z;
    return 0;
}

void lt_zap_stop(struct lt_zap *z)
{
    if (!z) return;
    atomic_store(&z->stop, 1);
    pthread_join(z->thread, NULL);
    zap_free(z);
}

uint64_t lt_zap_accepted(const struct lt_zap *z)
{
    return atomic_load(&z->accepted);
}
uint64_t lt_zap_refused(const struct lt_zap *z)
{
    return atomic_load(&z->refused);
}
uint64_t lt_zap_refused_peer_limit(const struct lt_zap *z)
{
    return z ? atomic_load(&z->refused_limit) : 0;
}

int lt_zsec_bind(void *sock, const char *endpoint, const struct lt_zsec_config *cfg, char *err,
                 size_t errlen)
{
    int64_t maxsz = cfg && cfg->max_msg_size > 0 ? cfg->max_msg_size : 65536;
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        if (!cfg || !cfg->server_secret_key || !cfg->allowed_keys_file) {
            lt_seterr(err, errlen,
                      "%s: tcp endpoints need CURVE (server secret key and allowed client keys)",
                      endpoint);
            return LT_EINVAL;
        }
        int one = 1;
        const char *domain = cfg->zap_domain ? cfg->zap_domain : "lartrig";
        if (strlen(cfg->server_secret_key) != LT_Z85_KEY_LEN ||
            zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, cfg->server_secret_key, LT_Z85_KEY_LEN) !=
                0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0) {
            lt_seterr(err, errlen, "%s: cannot enable CURVE: %s", endpoint,
                      zmq_strerror(zmq_errno()));
            return LT_EINVAL;
        }
    }
    if (zmq_bind(sock, endpoint) != 0) {
        lt_seterr(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        mode_t mode = cfg && cfg->ipc_mode ? (mode_t)cfg->ipc_mode : 0660;
        if (chmod(endpoint + 6, mode) != 0) {
            lt_seterr(err, errlen, "%s: cannot set mode %o: %s", endpoint, (unsigned)mode,
                      strerror(errno));
            return LT_EIO;
        }
    }
    return 0;
}

int lt_zsec_read_key_file(const char *path, char *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        lt_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return LT_EIO;
    }
    char line[256];
    int rc = LT_EINVAL;
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || !*p) continue;
        size_t n = strcspn(p, " \t\r\n");
        if (n == LT_Z85_KEY_LEN) {
            memcpy(out, p, n);
            out[n] = 0;
            rc = 0;
        }
        break;
    }
    fclose(f);
    if (rc) lt_seterr(err, errlen, "%s: not a file holding one 40-character Z85 key", path);
    return rc;
}

int lt_zsec_client_keys(void *sock, const char *server_public, const char *client_public,
                        const char *client_secret, char *err, size_t errlen)
{
    if (!server_public || !client_public || !client_secret ||
        strlen(server_public) != LT_Z85_KEY_LEN || strlen(client_public) != LT_Z85_KEY_LEN ||
        strlen(client_secret) != LT_Z85_KEY_LEN) {
        lt_seterr(err, errlen,
                  "CURVE client needs server public, client public and secret keys "
                  "(40-character Z85 each)");
        return LT_EINVAL;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public, LT_Z85_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, client_public, LT_Z85_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, client_secret, LT_Z85_KEY_LEN) != 0) {
        lt_seterr(err, errlen, "cannot set CURVE client keys: %s", zmq_strerror(zmq_errno()));
        return LT_EINVAL;
    }
    return 0;
}

int lt_runtime_dir(char *buf, size_t len)
{
    const char *rd = getenv("RUNTIME_DIRECTORY");
    int n;
    if (rd && *rd) {
        /* systemd may pass several, colon separated: take the first. */
        size_t l = strcspn(rd, ":");
        n = snprintf(buf, len, "%.*s", (int)l, rd);
    } else if (access("/run/lartrig", W_OK) == 0) {
        n = snprintf(buf, len, "/run/lartrig");
    } else if (getenv("XDG_RUNTIME_DIR")) {
        n = snprintf(buf, len, "%s/lartrig", getenv("XDG_RUNTIME_DIR"));
    } else {
        n = snprintf(buf, len, "/tmp/lartrig-%u", (unsigned)getuid());
    }
    if (n < 0 || (size_t)n >= len) return LT_ERANGE;
    if (mkdir(buf, 0750) != 0 && errno != EEXIST) return LT_EIO;
    return 0;
}
