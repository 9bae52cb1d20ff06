/* The module side (roles `all` and `module`): one thread that owns the candidate PULL socket,
 * the request ROUTER socket, the aggregator, the readout and the record sink. */
#ifndef TRIGD_MODULE_H
#define TRIGD_MODULE_H

#include <stddef.h>

#include "aggregator.h"
#include "config.h"
#include "status.h"

struct trigd_module;

/* Bind the sockets and start the record writer; nothing runs yet. */
int trigd_module_create(const struct trigd_config *cfg, void *zctx, struct trigd_module **out,
                        char *err, size_t errlen);
int trigd_module_start(struct trigd_module *m, char *err, size_t errlen);
/* End of run: take what is still queued on the sockets, decide everything up to the highest
 * watermark seen, read out and write every accepted decision, stop the writer; then the
 * thread exits. Blocks until it has. Returns 0 when every record was written. */
int trigd_module_drain(struct trigd_module *m);
void trigd_module_destroy(struct trigd_module *m);

const struct trigd_module_status *trigd_module_status(const struct trigd_module *m);
/* The operator's mailbox to the module thread (module_mailbox.h). */
struct trigd_module_ctl *trigd_module_ctl(struct trigd_module *m);

#endif
