#include "client_keys.h"

#include <stdio.h>
#include <string.h>

int client_keys_option(struct client_keys *k, int c, const char *path)
{
    char *dst = c == 's' ? k->server_public : c == 'k' ? k->client_public : k->client_secret;
    FILE *f = fopen(path, "r");
    int ok = 0;
    if (f) {
        ok = fscanf(f, "%40s", dst) == 1 && strlen(dst) == LT_Z85_KEY_LEN;
        fclose(f);
    }
    if (!ok) {
        fprintf(stderr, "trigctl: %s: not a file holding one 40-character Z85 key\n", path);
        return 2;
    }
    return 0;
}

const struct lt_ctl_client_keys *client_keys_get(struct client_keys *k)
{
    if (!k->server_public[0]) return NULL;
    k->keys.server_public = k->server_public;
    k->keys.client_public = k->client_public;
    k->keys.client_secret = k->client_secret;
    return &k->keys;
}
