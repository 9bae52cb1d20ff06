/* Fuzz target: trigctl metrics' rendering of a monitor document (what arrives on the monitor
 * socket) as Prometheus text: any JSON gives lines that are HELP/TYPE comments or lartrig_
 * samples, never a raw newline inside a label value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prom_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    struct prom_exporter_stats ex = {.documents = 1, .document_age_s = 0.5, .up = 1};
    struct prom_text t = {0};
    prom_render(doc, &ex, &t);
    json_decref(doc);
    if (t.oom) abort();
    if (!t.len || t.buf[t.len - 1] != '\n') abort();
    for (char *line = t.buf; line < t.buf + t.len;) {
        char *end = strchr(line, '\n');
        if (!end) abort();
        *end = '\0';
        if (strncmp(line, "# HELP lartrig_", 15) && strncmp(line, "# TYPE lartrig_", 15) &&
            strncmp(line, "lartrig_", 8))
            abort();
        line = end + 1;
    }
    prom_text_free(&t);
    return 0;
}
