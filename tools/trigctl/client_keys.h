/* The CURVE client keys of trigctl's --server-key/--client-key/--client-secret options, shared by
 * the commands that talk to trigd over tcp (status, top, metrics, ...). Each file holds one Z85
 * key (first token); docs/monitoring.md "Keys for tcp". */
#ifndef LARTRIG_TRIGCTL_CLIENT_KEYS_H
#define LARTRIG_TRIGCTL_CLIENT_KEYS_H

#include "ctl.h"
#include "socket_security.h"

struct client_keys {
    char server_public[LT_Z85_KEY_LEN + 1];
    char client_public[LT_Z85_KEY_LEN + 1];
    char client_secret[LT_Z85_KEY_LEN + 1];
    struct lt_ctl_client_keys keys; /* points into the buffers above */
};

#define CLIENT_KEYS_USAGE                                                                          \
    "       [--server-key FILE --client-key FILE --client-secret FILE]   (tcp + CURVE)\n"

/* getopt_long entries: --server-key 's', --client-key 'k', --client-secret 'x'. */
#define CLIENT_KEYS_LONGOPTS                                                                       \
    {"server-key", required_argument, 0, 's'}, {"client-key", required_argument, 0, 'k'},          \
    {                                                                                              \
        "client-secret", required_argument, 0, 'x'                                                 \
    }

/* Read the key file of option c ('s', 'k' or 'x'); 0, or 2 (usage error) with a message on
 * stderr. */
int client_keys_option(struct client_keys *k, int c, const char *path);
/* The keys for lt_ctl_* (NULL when no server key was given: ipc/inproc). */
const struct lt_ctl_client_keys *client_keys_get(struct client_keys *k);

#endif
