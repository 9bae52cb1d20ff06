/* Fuzz target: the control protocol (JSON request -> reply), as served by trigd. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

static json_t *handler(void *user, const char *cmd, json_t *req, char *err, size_t errlen)
{
    (void)user;
    if (!strcmp(cmd, "status")) return json_pack("{s:s}", "state", "running");
    if (!strcmp(cmd, "trigger")) {
        json_t *n = json_object_get(req, "count");
        if (n && !json_is_integer(n)) {
            snprintf(err, errlen, "count must be an integer");
            return NULL;
        }
        return json_object();
    }
    snprintf(err, errlen, "unknown command '%s'", cmd);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        lt_log_set_level(LT_LOG_ERR);
        quiet = 1;
    }
    int bad;
    json_t *reply = lt_ctl_handle_request((const char *)data, size, handler, NULL, &bad);
    if (!reply || !json_is_object(reply)) __builtin_trap();
    json_decref(reply);
    return 0;
}
