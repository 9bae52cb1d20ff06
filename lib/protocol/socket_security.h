/* Security of the operator sockets (control and monitor).
 *
 * By default both are ipc:// sockets in the runtime directory with mode 0660, so only the
 * service user and its group can talk to the daemon. A tcp:// endpoint is refused unless CURVE is
 * configured: the daemon then is a CURVE server with its own key pair, and a ZAP handler accepts
 * only client public keys listed in an allow-list file (one Z85 key per line, optionally followed
 * by whitespace and a comment; lines starting with '#' are comments). Every socket also gets
 * ZMQ_MAXMSGSIZE so an oversized message is refused by libzmq itself. */
#ifndef LARTRIG_SOCKET_SECURITY_H
#define LARTRIG_SOCKET_SECURITY_H

#include <stddef.h>
#include <stdint.h>

#define LT_Z85_KEY_LEN     40
#define LT_ZAP_MAX_KEYS    256
#define LT_ZAP_MAX_CELL_ID 1023 /* cell ids of a data-socket allow-list (the crate field) */
#define LT_ZAP_MAX_WATCH   4    /* sockets whose connections a ZAP handler bounds */

struct lt_zsec_config {
    const char *server_secret_key; /* Z85, 40 chars; required for tcp:// */
    const char *allowed_keys_file; /* allow-list of client public keys; required for tcp:// */
    const char *zap_domain;        /* e.g. "lartrig" */
    uint32_t ipc_mode;             /* permissions of ipc socket files, default 0660 */
    int64_t max_msg_size;          /* bytes, default 65536 */
};

struct lt_zap;

/* Start the ZAP handler of a context (one per context; binds inproc://zeromq.zap.01). It serves
 * every socket of the context that sets ZMQ_ZAP_DOMAIN. Keys are read once, here. */
int lt_zap_start(void *zctx, const char *allowed_keys_file, struct lt_zap **out, char *err,
                 size_t errlen);
void lt_zap_stop(struct lt_zap *z);
/* The ZAP handler of the data sockets (candidates, data requests): each allowed key is bound to
 * one cell id by the list file (lines "<public key> <cell id>", '#' comments) and the peer's ZAP
 * User-Id (zmq_msg_gets(msg, "User-Id")) is "cell-<id>". Keys and ids must each appear once.
 * cell_keys_file NULL: no keys (endpoints.insecure), NULL-mechanism peers are let in, bounded.
 * The n_watch sockets (not yet bound; at most LT_ZAP_MAX_WATCH) are monitored: while more than
 * max_peers connections are open on them (0 = no bound), new peers are refused, so idle
 * connections cannot exhaust the process's descriptors. The sockets must set ZMQ_ZAP_DOMAIN. */
int lt_zap_start_cells(void *zctx, const char *cell_keys_file, void *const *watch, int n_watch,
                       int64_t max_peers, struct lt_zap **out, char *err, size_t errlen);
uint64_t lt_zap_refused_peer_limit(const struct lt_zap *z);
int lt_zsec_read_cell_keys(const char *path, char (*keys)[LT_Z85_KEY_LEN + 1], uint32_t *ids,
                           int max, char *err, size_t errlen);
/* The first key of a key file written by `trigctl keygen` (BASE.key or BASE.pub) into
 * out[41]. */
int lt_zsec_read_key_file(const char *path, char *out, char *err, size_t errlen);
uint64_t lt_zap_accepted(const struct lt_zap *z);
uint64_t lt_zap_refused(const struct lt_zap *z);

/* Read an allow-list file into keys[][41]; returns the count or a negative lt_error, with the
 * file and line of a bad key in err. */
int lt_zsec_read_keys(const char *path, char (*keys)[LT_Z85_KEY_LEN + 1], int max, char *err,
                      size_t errlen);

/* Bind a server socket with the policy above: ipc -> bind then chmod; tcp -> CURVE server +
 * ZAP domain (lt_zap_start must have been called on the context); inproc -> plain bind. */
int lt_zsec_bind(void *sock, const char *endpoint, const struct lt_zsec_config *cfg, char *err,
                 size_t errlen);

/* Client side: set CURVE keys when connecting to a tcp endpoint (all three Z85 strings). */
int lt_zsec_client_keys(void *sock, const char *server_public, const char *client_public,
                        const char *client_secret, char *err, size_t errlen);

/* Default runtime directory for ipc sockets: $RUNTIME_DIRECTORY (systemd), else /run/lartrig
 * when writable, else $XDG_RUNTIME_DIR/lartrig, else /tmp/lartrig-<uid>. Created 0750. */
int lt_runtime_dir(char *buf, size_t len);

#endif
