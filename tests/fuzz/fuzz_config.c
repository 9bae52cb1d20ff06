/* Fuzz target: trigd's configuration parser (libconfig text -> validated config). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        lt_log_set_level(LT_LOG_ERR);
        quiet = 1;
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static struct trigd_config cfg;
    char err[512];
    trigd_config_load_string(text, "<fuzz>", &cfg, err, sizeof err);
    free(text);
    return 0;
}
