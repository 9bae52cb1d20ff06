/* A cell's data sockets (candidate PUSH, request DEALER): the limits every data socket carries,
 * and CURVE with the cell's own key when they go over tcp (docs/security.md). */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cell_internal.h"
#include "log.h"
#include "lt_error.h"
#include "socket_security.h"

/* A peer that has not completed its handshake within this long is dropped (libzmq's default
 * is 30 s: plenty of time to hold descriptors open). */
#define DATA_HANDSHAKE_MS 3000
#define HANDSHAKE_MSG_MAX 1024

int trigd_cell_key_file(const char *pat, uint32_t id, char *out, size_t len)
{
    const char *at = strstr(pat, "{id}");
    int n = at ? snprintf(out, len, "%.*s%u%s", (int)(at - pat), pat, id, at + 4)
               : snprintf(out, len, "%s", pat);
    return n < 0 || (size_t)n >= len ? LT_ERANGE : 0;
}

int trigd_cell_socket_setup(struct trigd_cell *c, void *sock, int64_t max_msg, char *err,
                            size_t errlen)
{
    const struct trigd_cells_config *cfg = c->cfg;
    int hs = DATA_HANDSHAKE_MS;
    /* The bound holds for the handshake's commands too (a CURVE WELCOME is 168 bytes, READY
     * carries metadata): never below what a handshake needs. */
    if (max_msg < HANDSHAKE_MSG_MAX) max_msg = HANDSHAKE_MSG_MAX;
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) ||
        zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &hs, sizeof hs)) {
        lt_seterr(err, errlen, "cell %u: socket options: %s", c->id, zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    if (!cfg->curve) {
        if (cfg->tcp)
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 3600, 1,
                               "INSECURE: cell data sockets over plain tcp without keys "
                               "(endpoints.insecure = true): anyone who reaches the module can "
                               "speak for this cell; see docs/security.md");
        return 0;
    }
    char path[TRIGD_PATH_MAX], server[LT_Z85_KEY_LEN + 1], secret[LT_Z85_KEY_LEN + 1],
        public[LT_Z85_KEY_LEN + 1];
    int rc = trigd_cell_key_file(cfg->cell_secret_key_files, c->id, path, sizeof path);
    if (rc) {
        lt_seterr(err, errlen, "cell %u: key file name too long", c->id);
        return rc;
    }
    rc = lt_zsec_read_key_file(cfg->module_public_key_file, server, err, errlen);
    if (!rc) rc = lt_zsec_read_key_file(path, secret, err, errlen);
    if (!rc && zmq_curve_public(public, secret) != 0) {
        lt_seterr(err, errlen, "cell %u: %s: not a CURVE secret key", c->id, path);
        rc = LT_EINVAL;
    }
    if (!rc) rc = lt_zsec_client_keys(sock, server, public, secret, err, errlen);
    explicit_bzero(secret, sizeof secret);
    return rc;
}
