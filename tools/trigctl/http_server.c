/* See http_server.h. Every socket is non-blocking; a slow or silent client costs one slot for at
 * most HTTP_TIMEOUT_MS and never blocks the caller's loop. */
#include "http_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lt_clock.h"
#include "lt_error.h"

struct conn {
    int fd; /* -1 = free slot */
    int64_t deadline_ms;
    size_t in_len;
    char in[HTTP_MAX_REQUEST + 1];
    char *out; /* the whole answer, once the request is complete */
    size_t out_len, out_off;
};

struct http_server {
    int listen_fd;
    uint16_t port;
    http_handler handler;
    void *user;
    uint64_t answered, refused;
    struct conn conns[HTTP_MAX_CONNECTIONS];
};

/* "HOST:PORT", "[V6]:PORT", ":PORT" -> host (empty = any) and port text. */
static int split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':') return -1;
        colon = end + 1;
        if ((size_t)(end - addr - 1) >= hostlen) return -1;
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = '\0';
    } else {
        colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= hostlen) return -1;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
    }
    if (!colon[1] || strlen(colon + 1) >= portlen ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

int http_server_open(const char *addr, http_handler handler, void *user, struct http_server **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    char host[256], port[16];
    if (split_addr(addr, host, sizeof host, port, sizeof port) != 0) {
        lt_seterr(err, errlen, "listen address '%s': expected HOST:PORT, [IPV6]:PORT or :PORT",
                  addr);
        return LT_EINVAL;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        lt_seterr(err, errlen, "listen address '%s': %s", addr, gai_strerror(gai));
        return LT_EINVAL;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        lt_seterr(err, errlen, "cannot listen on %s: %s", addr, strerror(saved ? saved : EINVAL));
        return LT_EIO;
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return LT_ENOMEM;
    }
    s->listen_fd = fd;
    s->handler = handler;
    s->user = user;
    for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) s->conns[i].fd = -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    *out = s;
    return 0;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}
uint64_t http_server_answered(const struct http_server *s)
{
    return s->answered;
}
uint64_t http_server_refused(const struct http_server *s)
{
    return s->refused;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);
    free(c->out);
    c->out = NULL;
    c->fd = -1;
    c->in_len = c->out_len = c->out_off = 0;
}

void http_server_close(struct http_server *s)
{
    if (!s) return;
    for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) conn_close(&s->conns[i]);
    close(s->listen_fd);
    free(s);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

/* The answer as one buffer: status line, headers, and (not for HEAD) the body. */
static void respond(struct conn *c, const struct http_response *r, int head)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     r->status, reason(r->status), r->content_type, r->body_len,
                     r->status == 405 ? "Allow: GET, HEAD\r\n" : "");
    size_t body = head ? 0 : r->body_len;
    c->out = malloc((size_t)n + body);
    if (!c->out) {
        conn_close(c);
        return;
    }
    memcpy(c->out, hdr, (size_t)n);
    if (body) memcpy(c->out + n, r->body, body);
    c->out_len = (size_t)n + body;
    c->out_off = 0;
}

static void respond_error(struct http_server *s, struct conn *c, int status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    struct http_response r = {status, "text/plain; charset=utf-8", body, (size_t)n};
    s->refused++;
    respond(c, &r, 0);
}

int http_parse_request(const char *req, char *path, size_t pathlen, int *head)
{
    char line[HTTP_MAX_REQUEST + 1], method[16], target[HTTP_MAX_REQUEST], version[16];
    size_t n = strcspn(req, "\r\n");
    if (n > HTTP_MAX_REQUEST || !req[n]) return 400; /* no end of the request line */
    memcpy(line, req, n);
    line[n] = '\0';
    if (sscanf(line, "%15s %8191s %15s", method, target, version) != 3 || target[0] != '/')
        return 400;
    if (strncmp(version, "HTTP/1.", 7) != 0) return 505;
    *head = !strcmp(method, "HEAD");
    if (!*head && strcmp(method, "GET") != 0) return 405;
    target[strcspn(target, "?#")] = '\0';
    if (strlen(target) >= pathlen) return 400;
    memcpy(path, target, strlen(target) + 1);
    return 200;
}

/* A complete request head is in c->in: parse the request line and answer. */
static void serve(struct http_server *s, struct conn *c)
{
    char path[HTTP_MAX_REQUEST];
    int head = 0;
    int status = http_parse_request(c->in, path, sizeof path, &head);
    if (status != 200) {
        respond_error(s, c, status);
        return;
    }
    struct http_response r = {404, "text/plain; charset=utf-8", "404 Not Found\n", 14};
    s->handler(s->user, path, &r);
    if (r.status == 200)
        s->answered++;
    else
        s->refused++;
    respond(c, &r, head);
}

static void on_readable(struct http_server *s, struct conn *c)
{
    for (;;) {
        size_t room = HTTP_MAX_REQUEST - c->in_len;
        if (room == 0) { /* no end of the head within the limit */
            respond_error(s, c, 431);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { /* closed before a complete request (or an error) */
            conn_close(c);
            return;
        }
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
            serve(s, c);
            return;
        }
    }
}

static void on_writable(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        c->out_off += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    conn_close(c);
}

static int free_slot(struct http_server *s)
{
    for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++)
        if (s->conns[i].fd < 0) return i;
    return -1;
}

int http_server_pollfds(struct http_server *s, struct pollfd *fds, int max)
{
    if (max < 1 + HTTP_MAX_CONNECTIONS) return 0;
    /* Full: leave new connections in the kernel's backlog until a slot frees. */
    fds[0] = (struct pollfd){.fd = free_slot(s) >= 0 ? s->listen_fd : -1, .events = POLLIN};
    for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
        const struct conn *c = &s->conns[i];
        fds[1 + i] = (struct pollfd){.fd = c->fd, .events = c->out ? POLLOUT : POLLIN};
    }
    return 1 + HTTP_MAX_CONNECTIONS;
}

void http_server_handle(struct http_server *s, const struct pollfd *fds, int n)
{
    int64_t now = (int64_t)lt_mono_ms();
    for (int i = 0; i < HTTP_MAX_CONNECTIONS && 1 + i < n; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd < 0 || fds[1 + i].fd != c->fd) continue;
        short ev = fds[1 + i].revents;
        if (ev & (POLLERR | POLLNVAL)) {
            conn_close(c);
        } else if (c->out && (ev & (POLLOUT | POLLHUP))) {
            on_writable(c);
        } else if (!c->out && (ev & (POLLIN | POLLHUP))) {
            on_readable(s, c);
            if (c->fd >= 0 && c->out) on_writable(c); /* usually fits the socket buffer */
        }
        if (c->fd >= 0 && now >= c->deadline_ms) {
            s->refused++;
            conn_close(c);
        }
    }
    if (n > 0 && fds[0].fd >= 0 && (fds[0].revents & POLLIN)) {
        int slot;
        while ((slot = free_slot(s)) >= 0) {
            int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) break; /* EAGAIN, or a transient error: try again on the next poll */
            struct conn *c = &s->conns[slot];
            c->fd = fd;
            c->deadline_ms = now + HTTP_TIMEOUT_MS;
            c->in_len = 0;
        }
    }
}
