#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "lt_error.h"

struct lt_ctl_server {
    void *sock;
    lt_ctl_handler handler;
    void *user;
    uint64_t requests;
    uint64_t bad_requests;
    char buf[LT_CTL_MAX_REQUEST + 1];
};

static void send_json(void *sock, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    if (text) {
        zmq_send(sock, text, strlen(text), 0);
        free(text);
    } else {
        static const char fallback[] = "{\"ok\":false,\"error\":\"cannot encode reply\"}";
        zmq_send(sock, fallback, sizeof fallback - 1, 0);
    }
}

static json_t *error_reply(const char *msg);

static void send_error(struct lt_ctl_server *s, const char *msg)
{
    s->bad_requests++;
    json_t *reply = error_reply(msg);
    send_json(s->sock, reply);
    json_decref(reply);
}

int lt_ctl_server_open(void *zctx, const char *endpoint, const struct lt_zsec_config *sec,
                       lt_ctl_handler handler, void *user, struct lt_ctl_server **out, char *err,
                       size_t errlen)
{
    struct lt_ctl_server *s = calloc(1, sizeof *s);
    if (!s) return LT_ENOMEM;
    s->handler = handler;
    s->user = user;
    s->sock = zmq_socket(zctx, ZMQ_REP);
    if (!s->sock) {
        free(s);
        lt_seterr(err, errlen, "cannot create control socket: %s", zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    int linger = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger);
    struct lt_zsec_config local = sec ? *sec : (struct lt_zsec_config){0};
    /* Above what we accept, so we answer "too large" ourselves (see LT_CTL_MAX_WIRE). */
    if (local.max_msg_size <= 0) local.max_msg_size = LT_CTL_MAX_WIRE;
    int rc = lt_zsec_bind(s->sock, endpoint, &local, err, errlen);
    if (rc) {
        zmq_close(s->sock);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void *lt_ctl_server_socket(struct lt_ctl_server *s)
{
    return s->sock;
}
uint64_t lt_ctl_server_requests(const struct lt_ctl_server *s)
{
    return s->requests;
}
uint64_t lt_ctl_server_bad_requests(const struct lt_ctl_server *s)
{
    return s->bad_requests;
}

/* Error replies may quote the request (a command name, the text near a JSON syntax error), which
 * can be any bytes: keep them printable ASCII so the reply is always valid JSON text. */
static json_t *error_reply(const char *msg)
{
    char clean[300];
    size_t i = 0;
    for (; msg[i] && i < sizeof clean - 1; i++) {
        unsigned char c = (unsigned char)msg[i];
        clean[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    clean[i] = '\0';
    return json_pack("{s:b, s:s}", "ok", 0, "error", clean);
}

json_t *lt_ctl_handle_request(const char *buf, size_t len, lt_ctl_handler handler, void *user,
                              int *bad)
{
    *bad = 1;
    if (len > LT_CTL_MAX_REQUEST) return error_reply("request too large");
    json_error_t jerr;
    json_t *req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req || !json_is_object(req)) {
        char msg[256];
        snprintf(msg, sizeof msg, "malformed JSON request: %s", req ? "not an object" : jerr.text);
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5, "control: %s", msg);
        json_decref(req);
        return error_reply(msg);
    }
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd) {
        json_decref(req);
        return error_reply("request has no string \"cmd\"");
    }
    char err[256] = "";
    json_t *reply = handler(user, cmd, req, err, sizeof err);
    json_decref(req);
    if (!reply) return error_reply(err[0] ? err : "command failed");
    *bad = 0;
    if (!json_object_get(reply, "ok")) json_object_set_new(reply, "ok", json_true());
    return reply;
}

static void serve_one(struct lt_ctl_server *s, int len)
{
    s->requests++;
    /* A multipart request is not ours: swallow the rest, answer once. */
    int more = 0, truncated = len > LT_CTL_MAX_REQUEST;
    size_t msz = sizeof more;
    zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &msz);
    while (more) {
        char scratch[256];
        if (zmq_recv(s->sock, scratch, sizeof scratch, 0) < 0) break;
        zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &msz);
        truncated = 1;
    }
    if (truncated) {
        send_error(s, "request too large or multipart");
        return;
    }
    int bad;
    json_t *reply = lt_ctl_handle_request(s->buf, (size_t)len, s->handler, s->user, &bad);
    if (bad) s->bad_requests++;
    send_json(s->sock, reply);
    json_decref(reply);
}

int lt_ctl_server_serve(struct lt_ctl_server *s)
{
    int served = 0;
    for (;;) {
        int len = zmq_recv(s->sock, s->buf, LT_CTL_MAX_REQUEST + 1, ZMQ_DONTWAIT);
        if (len < 0) break;
        serve_one(s, len);
        served++;
    }
    return served;
}

void lt_ctl_server_close(struct lt_ctl_server *s)
{
    if (!s) return;
    zmq_close(s->sock);
    free(s);
}

static void *client_socket(void *ctx, int type, const char *endpoint,
                           const struct lt_ctl_client_keys *keys, char *err, size_t errlen)
{
    void *sock = zmq_socket(ctx, type);
    if (!sock) {
        lt_seterr(err, errlen, "cannot create socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (keys && keys->server_public &&
        lt_zsec_client_keys(sock, keys->server_public, keys->client_public, keys->client_secret,
                            err, errlen) != 0) {
        zmq_close(sock);
        return NULL;
    }
    if (zmq_connect(sock, endpoint) != 0) {
        lt_seterr(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* Wait for one message on sock and return it as a malloc'd string. */
static int receive_string(void *sock, int timeout_ms, const char *endpoint, char **out, char *err,
                          size_t errlen)
{
    zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, timeout_ms);
    if (rc <= 0) {
        lt_seterr(err, errlen, "no answer from %s within %d ms (is trigd running?)", endpoint,
                  timeout_ms);
        return LT_ETIMEOUT;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        zmq_msg_close(&msg);
        lt_seterr(err, errlen, "receive from %s failed: %s", endpoint, zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    size_t n = zmq_msg_size(&msg);
    char *s = malloc(n + 1);
    if (!s) {
        zmq_msg_close(&msg);
        return LT_ENOMEM;
    }
    memcpy(s, zmq_msg_data(&msg), n);
    s[n] = '\0';
    zmq_msg_close(&msg);
    *out = s;
    return 0;
}

int lt_ctl_request(const char *endpoint, const char *request_json, int timeout_ms,
                   const struct lt_ctl_client_keys *keys, char **reply, char *err, size_t errlen)
{
    void *ctx = zmq_ctx_new();
    if (!ctx) return LT_ENOMEM;
    int rc = LT_EIO;
    void *sock = client_socket(ctx, ZMQ_REQ, endpoint, keys, err, errlen);
    if (sock) {
        if (zmq_send(sock, request_json, strlen(request_json), 0) < 0)
            lt_seterr(err, errlen, "send to %s failed: %s", endpoint, zmq_strerror(zmq_errno()));
        else
            rc = receive_string(sock, timeout_ms, endpoint, reply, err, errlen);
        zmq_close(sock);
    }
    zmq_ctx_term(ctx);
    return rc;
}

struct lt_monitor {
    void *sock;
};

int lt_monitor_open(void *zctx, const char *endpoint, const struct lt_zsec_config *sec,
                    struct lt_monitor **out, char *err, size_t errlen)
{
    struct lt_monitor *m = calloc(1, sizeof *m);
    if (!m) return LT_ENOMEM;
    m->sock = zmq_socket(zctx, ZMQ_PUB);
    if (!m->sock) {
        free(m);
        return LT_EIO;
    }
    int linger = 0, hwm = 16;
    zmq_setsockopt(m->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(m->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    int rc = lt_zsec_bind(m->sock, endpoint, sec, err, errlen);
    if (rc) {
        zmq_close(m->sock);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int lt_monitor_publish_topic(struct lt_monitor *m, const char *topic, const char *json)
{
    if (zmq_send(m->sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return LT_EFULL;
    if (zmq_send(m->sock, json, strlen(json), ZMQ_DONTWAIT) < 0) return LT_EFULL;
    return 0;
}

int lt_monitor_publish(struct lt_monitor *m, const char *json)
{
    return lt_monitor_publish_topic(m, LT_MONITOR_TOPIC_STATUS, json);
}

int lt_monitor_subscribe(void *zctx, const char *endpoint, const struct lt_ctl_client_keys *keys,
                         void **sock, char *err, size_t errlen)
{
    void *s = client_socket(zctx, ZMQ_SUB, endpoint, keys, err, errlen);
    if (!s) return LT_EIO;
    int64_t max = LT_MONITOR_MAX_MSG;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, LT_MONITOR_TOPIC_STATUS, strlen(LT_MONITOR_TOPIC_STATUS));
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, LT_MONITOR_TOPIC_ALARM, strlen(LT_MONITOR_TOPIC_ALARM));
    *sock = s;
    return 0;
}

/* The current frame as a NUL-terminated string, and whether more frames follow. */
static char *frame_string(zmq_msg_t *msg, int *more)
{
    size_t n = zmq_msg_size(msg);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, zmq_msg_data(msg), n);
        s[n] = '\0';
    }
    *more = zmq_msg_more(msg);
    return s;
}

int lt_monitor_read(void *sock, char **topic, char **json)
{
    *topic = *json = NULL;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return LT_ENOTFOUND;
    }
    int more = 0, parts = 1, rc = 0;
    char *t = frame_string(&msg, &more);
    char *body = NULL;
    while (more) { /* exactly two frames are ours; read (and drop) whatever else came along */
        if (zmq_msg_recv(&msg, sock, 0) < 0) break;
        parts++;
        if (parts == 2)
            body = frame_string(&msg, &more);
        else
            more = zmq_msg_more(&msg);
    }
    zmq_msg_close(&msg);
    if (!t || (parts == 2 && !body)) rc = LT_ENOMEM;
    if (!rc && parts != 2) rc = LT_EFORMAT;
    if (rc) {
        free(t);
        free(body);
        return rc;
    }
    *topic = t;
    *json = body;
    return 0;
}

void lt_monitor_close(struct lt_monitor *m)
{
    if (!m) return;
    zmq_close(m->sock);
    free(m);
}

int lt_monitor_receive(const char *endpoint, int timeout_ms, const struct lt_ctl_client_keys *keys,
                       char **json, char *err, size_t errlen)
{
    void *ctx = zmq_ctx_new();
    if (!ctx) return LT_ENOMEM;
    int rc = LT_EIO;
    void *sock = client_socket(ctx, ZMQ_SUB, endpoint, keys, err, errlen);
    if (sock) {
        zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "status", 6);
        char *topic = NULL;
        rc = receive_string(sock, timeout_ms, endpoint, &topic, err, errlen);
        free(topic);
        if (rc == 0) rc = receive_string(sock, timeout_ms, endpoint, json, err, errlen);
        zmq_close(sock);
    }
    zmq_ctx_term(ctx);
    return rc;
}
