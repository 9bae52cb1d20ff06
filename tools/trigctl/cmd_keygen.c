/* trigctl keygen BASE: a CURVE key pair for the operator sockets over tcp (docs/monitoring.md).
 * Writes BASE.key (the secret key, mode 0600) and BASE.pub (the public key, 0644), each holding the
 * Z85 key as its first token. Existing files are never overwritten: a lost secret key is fixed by
 * making a new pair, not by silently replacing one that a daemon or client still uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "commands.h"

static int write_key(const char *path, const char *key, const char *what, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "trigctl keygen: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (not overwritten)" : "");
        return -1;
    }
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s\n# lartrig CURVE %s key (trigctl keygen)\n", key, what);
    int ok = n > 0 && write(fd, buf, (size_t)n) == n;
    if (close(fd) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "trigctl keygen: %s: write failed: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

int cmd_keygen(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
                "usage: trigctl keygen BASE\n"
                "  writes BASE.key (CURVE secret key, mode 0600) and BASE.pub (public key).\n"
                "  daemon: monitor.curve_secret_key_file = BASE.key; clients list BASE.pub in\n"
                "  monitor.curve_allowed_keys_file and pass --client-key/--client-secret.\n");
        return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    if (!zmq_has("curve")) {
        fprintf(stderr, "trigctl keygen: this libzmq has no CURVE support\n");
        return 1;
    }
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "trigctl keygen: zmq_curve_keypair: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    char kpath[4096], ppath[4096];
    if (snprintf(kpath, sizeof kpath, "%s.key", argv[1]) >= (int)sizeof kpath ||
        snprintf(ppath, sizeof ppath, "%s.pub", argv[1]) >= (int)sizeof ppath) {
        fprintf(stderr, "trigctl keygen: name too long\n");
        return 2;
    }
    if (write_key(kpath, sec, "secret", 0600) != 0) return 1;
    if (write_key(ppath, pub, "public", 0644) != 0) {
        unlink(kpath);
        return 1;
    }
    explicit_bzero(sec, sizeof sec);
    printf("%s (secret)\n%s (public: %s)\n", kpath, ppath, pub);
    return 0;
}
