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

static void zap_reply(void *sock, const char *request_id, int id_len, int ok, const char *text)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, request_id, (size_t)id_len, ZMQ_SNDMORE);
    zmq_send(sock, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, ok ? "client" : "", ok ? 6 : 0, ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
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
    if (n >= 7 && sizes[0] == 3 && memcmp(frames[0], "1.0", 3) == 0) {
        if (sizes[5] == 5 && memcmp(frames[5], "CURVE", 5) == 0 && sizes[6] == 32) {
            char z85[LT_Z85_KEY_LEN + 1];
            zmq_z85_encode(z85, (const uint8_t *)frames[6], 32);
            why = "client key not in allow-list";
            for (int i = 0; i < z->n_keys && !ok; i++) ok = strcmp(z85, z->keys[i]) == 0;
            if (!ok) {
                char addr[64];
                int alen = sizes[3] < 63 ? sizes[3] : 63;
                memcpy(addr, frames[3], (size_t)alen);
                addr[alen] = '\0';
                LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                                   "refused connection from %s: key %s not allowed", addr, z85);
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
    zap_reply(z->sock, request_id, id_len, ok, why);
}

static void *zap_thread(void *arg)
{
    struct lt_zap *z = arg;
    zmq_pollitem_t item = {.socket = z->sock, .events = ZMQ_POLLIN};
    while (!atomic_load(&z->stop)) {
        int rc = zmq_poll(&item, 1, 100);
        if (rc < 0) {
            if (zmq_errno() == ETERM) break;
            continue;
        }
        if (rc > 0) zap_handle(z);
    }
    zmq_close(z->sock);
    return NULL;
}

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
    z->sock = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (!z->sock || zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
        lt_seterr(err, errlen, "cannot start ZAP handler: %s", zmq_strerror(zmq_errno()));
        if (z->sock) zmq_close(z->sock);
        free(z);
        return LT_EIO;
    }
    if (pthread_create(&z->thread, NULL, zap_thread, z) != 0) {
        zmq_close(z->sock);
        free(z);
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
    free(z);
}

uint64_t lt_zap_accepted(const struct lt_zap *z)
{
    return atomic_load(&z->accepted);
}
uint64_t lt_zap_refused(const struct lt_zap *z)
{
    return atomic_load(&z->refused);
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
