/* The operator protocol: a control socket (ZeroMQ REP, JSON request -> JSON reply) and a monitor
 * socket (ZeroMQ PUB, topic "status" + one JSON document a second). Security (ipc modes, CURVE +
 * ZAP on tcp) comes from lib/protocol/socket_security.h.
 *
 * Request:  {"cmd": "<name>", ...arguments}
 * Reply:    {"ok": true, ...} or {"ok": false, "error": "<text>"}
 * The server answers every request, including malformed JSON, a missing "cmd" or an oversized
 * message, with an error reply; the daemon never crashes on operator input. */
#ifndef LARTRIG_CTL_H
#define LARTRIG_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "socket_security.h"

#define LT_CTL_MAX_REQUEST 65536
/* What libzmq lets in on the control socket (ZMQ_MAXMSGSIZE): more than the largest request, so
 * a request up to this size is received and answered "request too large" (CURVE adds its box to
 * each message on the wire: a limit of exactly MAX_REQUEST + 1 cut such requests off unanswered).
 * Larger ones are refused by libzmq before it allocates them. */
#define LT_CTL_MAX_WIRE (LT_CTL_MAX_REQUEST + 4096)

/* Handles one command; returns a new JSON object (the server adds "ok": true unless the handler
 * set "ok"), or NULL with a message in err for an error reply (unknown command, bad argument). */
typedef json_t *(*lt_ctl_handler)(void *user, const char *cmd, json_t *request, char *err,
                                  size_t errlen);

struct lt_ctl_server;

/* The protocol without the socket: parse one request and build its reply (never NULL). *bad is
 * set for requests answered with an error. Used by the server and by the fuzzer. */
json_t *lt_ctl_handle_request(const char *buf, size_t len, lt_ctl_handler handler, void *user,
                              int *bad);

int lt_ctl_server_open(void *zctx, const char *endpoint, const struct lt_zsec_config *sec,
                       lt_ctl_handler handler, void *user, struct lt_ctl_server **out, char *err,
                       size_t errlen);
/* The socket, for zmq_poll in the owner's loop. */
void *lt_ctl_server_socket(struct lt_ctl_server *s);
/* Serve every request pending now, without blocking. Returns how many were served. */
int lt_ctl_server_serve(struct lt_ctl_server *s);
uint64_t lt_ctl_server_requests(const struct lt_ctl_server *s);
uint64_t lt_ctl_server_bad_requests(const struct lt_ctl_server *s);
void lt_ctl_server_close(struct lt_ctl_server *s);

/* Client keys for tcp endpoints (all NULL for ipc/inproc). */
struct lt_ctl_client_keys {
    const char *server_public;
    const char *client_public;
    const char *client_secret;
};

/* Send one request and wait up to timeout_ms for the reply. Returns 0 and a malloc'd reply
 * string in *reply, LT_ETIMEOUT when no daemon answers, or another negative lt_error. */
int lt_ctl_request(const char *endpoint, const char *request_json, int timeout_ms,
                   const struct lt_ctl_client_keys *keys, char **reply, char *err, size_t errlen);

/* Monitor publisher: one PUB socket; publish never blocks (a slow subscriber loses updates,
 * counted by libzmq's high-water mark, never the daemon). */
struct lt_monitor;
int lt_monitor_open(void *zctx, const char *endpoint, const struct lt_zsec_config *sec,
                    struct lt_monitor **out, char *err, size_t errlen);
int lt_monitor_publish(struct lt_monitor *m, const char *json);
/* The same on another topic (LT_MONITOR_TOPIC_ALARM: one JSON alarm event per message). */
int lt_monitor_publish_topic(struct lt_monitor *m, const char *topic, const char *json);
void lt_monitor_close(struct lt_monitor *m);

#define LT_MONITOR_TOPIC_STATUS "status"
#define LT_MONITOR_TOPIC_ALARM  "alarm"
#define LT_MONITOR_MAX_MSG      (4 << 20)

/* A long-lived subscriber (trigctl metrics): a SUB socket in zctx, connected to endpoint (CURVE
 * client keys for tcp) and subscribed to both topics. The caller polls it and reads two-part
 * messages (topic, JSON) with lt_monitor_read; closes it with zmq_close. */
int lt_monitor_subscribe(void *zctx, const char *endpoint, const struct lt_ctl_client_keys *keys,
                         void **sock, char *err, size_t errlen);
/* One message without blocking: 0 with malloc'd topic and JSON text (both NUL-terminated),
 * LT_ENOTFOUND when none is waiting, LT_EFORMAT for a message that is not (topic, body)
 * (consumed and dropped), LT_ENOMEM. Messages above LT_MONITOR_MAX_MSG never arrive (libzmq
 * drops such a peer). */
int lt_monitor_read(void *sock, char **topic, char **json);

/* Subscriber side: wait up to timeout_ms for the next status document. */
int lt_monitor_receive(const char *endpoint, int timeout_ms, const struct lt_ctl_client_keys *keys,
                       char **json, char *err, size_t errlen);

#endif
