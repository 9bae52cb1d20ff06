/* Fuzz target: the request line parser of trigctl metrics' HTTP server (its network input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As the server holds it: at most HTTP_MAX_REQUEST bytes, NUL-terminated. */
    char req[HTTP_MAX_REQUEST + 1], path[HTTP_MAX_REQUEST];
    size_t n = size < HTTP_MAX_REQUEST ? size : HTTP_MAX_REQUEST;
    memcpy(req, data, n);
    req[n] = '\0';
    int head = -1;
    int status = http_parse_request(req, path, sizeof path, &head);
    if (status != 200 && status != 400 && status != 405 && status != 505) abort();
    if (status == 200 && (path[0] != '/' || strpbrk(path, "?#") || (head != 0 && head != 1)))
        abort();
    return 0;
}
