/* The module side (roles `all` and `module`): one thread that owns the candidate PULL socket,
 * the request ROUTER socket, the aggregator, the readout and the record sink. */
#ifndef TRIGD_MODULE_H
#define TRIGD_MODULE_H

#include <stddef.h>

#include "aggregator.h"
#include "candidate_gate.h"
#include "readout.h"
#include "recwriter.h"

struct trigd_module;

/* The module's configuration slice: its sockets and its stages' slices (daemon/config/
 * config_slices.h fills it; the strings point into the parsed configuration, which outlives the
 * module). */
struct trigd_module_config {
    const char *candidates_bind; /* the candidate PULL socket binds here */
    const char *requests_bind;   /* the request ROUTER socket binds here */
    /* The data sockets' security (docs/security.md): over tcp a ZAP handler admits at most
     * max_peers connections; with curve, only cells whose public key cell_keys_file lists. */
    int tcp, curve;
    const char *module_secret_key_file; /* curve: the module's secret key */
    const char *cell_keys_file;         /* curve: "<public key> <cell id>" lines */
    uint32_t max_peers;                 /* tcp: connections on the data sockets */
    struct trigd_input_config input;    /* the candidate gate */
    struct lt_aggregator_config aggregator;
    struct lt_readout_config readout;
    struct lt_recwriter_config writer;
};

/* Optional observer of every issued decision (the pipeline's decision callback): called on the
 * module thread as the aggregator issues it, before its readout starts; it must be quick. */
struct trigd_module_observer {
    void (*on_decision)(void *user, const struct trigd_decision *d);
    /* Optional: every inhibited decision (trigger_number 0), same rules (trigctl replay). */
    void (*on_inhibited)(void *user, const struct trigd_decision *d);
    void *user; /* for both */
};

/* Bind the sockets and start the record writer; nothing runs yet. cfg is copied; obs may be
 * NULL. */
int trigd_module_create(const struct trigd_module_config *cfg, void *zctx,
                        const struct trigd_module_observer *obs, struct trigd_module **out,
                        char *err, size_t errlen);
int trigd_module_start(struct trigd_module *m, char *err, size_t errlen);
/* End of run: take what is still queued on the sockets, decide everything up to the highest
 * watermark seen, read out and write every accepted decision, stop the writer; then the
 * thread exits. Blocks until it has. Returns 0 when every record was written.
 * deadline_ms 0: an orderly end, which waits for every reply and up to a minute for the
 * writer. Otherwise (a stop signal) everything ends within about deadline_ms: records not
 * written by then are counted as failed and logged, the open file is closed and renamed. */
int trigd_module_drain(struct trigd_module *m, unsigned deadline_ms);
void trigd_module_destroy(struct trigd_module *m);

/* What the module's stages counted. Each stage snapshots its own counters on the module thread
 * (candidate gate, aggregator, readout, writer); the module thread publishes them together
 * about every 100 ms and once more when it has drained. */
struct trigd_module_stats {
    struct trigd_input_stats input;
    struct trigd_agg_stats agg;
    uint64_t missing_bits[TRIGD_CELL_WORDS];     /* cells the aggregator counts as missing */
    uint64_t clock_fault_bits[TRIGD_CELL_WORDS]; /* cells the gate refused for time recently */
    uint64_t peers_refused;                      /* tcp data peers refused: max_peers reached */
    struct trigd_readout_stats readout;
    int writer_valid; /* writer: a status was taken */
    struct lt_recwriter_status writer;
};
/* The last publication (any thread; a short lock, never held by the module thread's work). */
void trigd_module_snapshot(struct trigd_module *m, struct trigd_module_stats *out);
/* No readout, in flight or still to be decided, reads ring data before this tick (the module
 * thread updates it every loop). trigd_cells_set_ring_gate lets an unpaced replay's cells wait
 * on it instead of overwriting their latency rings. Valid as long as the module. */
const _Atomic uint64_t *trigd_module_ring_needed_from(const struct trigd_module *m);
/* Iterations of the module thread's loop so far (any thread): the watchdog's progress. */
uint64_t trigd_module_loops(struct trigd_module *m);
/* The operator's mailbox to the module thread (module_mailbox.h). */
struct trigd_module_ctl *trigd_module_ctl(struct trigd_module *m);

#endif
