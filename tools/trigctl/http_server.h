/* A small HTTP/1.1 server for one job: answer GET/HEAD of a few paths with a body the caller
 * makes, on a poll() loop the caller owns (trigctl metrics polls it beside a ZeroMQ socket).
 * Bounded: at most HTTP_MAX_CONNECTIONS at once (beyond that new ones wait in the listen
 * backlog), requests up to HTTP_MAX_REQUEST bytes (431 beyond), HTTP_TIMEOUT_MS per connection
 * from accept to the last byte of the answer (then closed). One request per connection
 * ("Connection: close"), which every scraper handles. Single-threaded; errors as lt_error. */
#ifndef LARTRIG_HTTP_SERVER_H
#define LARTRIG_HTTP_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_CONNECTIONS 16
#define HTTP_MAX_REQUEST     8192
#define HTTP_TIMEOUT_MS      5000

/* The answer to one request. The handler sets status (200, 404, ...), content_type and the body
 * (it stays the caller's; the server copies it before the handler's next call). */
struct http_response {
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
};

/* Called for each complete GET or HEAD request (other methods get 405 without a call). path is
 * the request target without its query string. */
typedef void (*http_handler)(void *user, const char *path, struct http_response *resp);

struct http_server;

/* Listen on "HOST:PORT", "[V6ADDR]:PORT" or ":PORT" (all addresses); port 0 = any (see
 * http_server_port). */
int http_server_open(const char *addr, http_handler handler, void *user, struct http_server **out,
                     char *err, size_t errlen);
void http_server_close(struct http_server *s);
uint16_t http_server_port(const struct http_server *s);

/* The descriptors to poll now (at most 1 + HTTP_MAX_CONNECTIONS); returns how many were filled.
 * After poll(), pass the same array back to http_server_handle with its revents. */
int http_server_pollfds(struct http_server *s, struct pollfd *fds, int max);
void http_server_handle(struct http_server *s, const struct pollfd *fds, int n);

/* The request line of a complete request head (NUL-terminated, as received): 200 with the path
 * (query string cut) in path and *head set for HEAD; else the error status: 400 malformed,
 * 405 a method other than GET/HEAD, 505 not HTTP/1.x. No I/O (fuzz_http_request). */
int http_parse_request(const char *req, char *path, size_t pathlen, int *head);

/* Requests answered / refused (malformed, too large, timed out), for the exporter's own
 * metrics. */
uint64_t http_server_answered(const struct http_server *s);
uint64_t http_server_refused(const struct http_server *s);

#endif
