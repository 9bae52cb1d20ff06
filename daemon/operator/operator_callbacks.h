/* trigd's side of the operator interface (daemon/operator/operator.h): the status document, the control
 * commands (trigger, pause, resume, stop, reload) and the systemd notifications around them.
 * One per process, all roles; started once the pipeline runs, stopped before it is freed. */
#ifndef TRIGD_OPERATOR_CALLBACKS_H
#define TRIGD_OPERATOR_CALLBACKS_H

#include <stddef.h>

#include "cell.h"
#include "config.h"
#include "module.h"

struct trigd_operator;

/* cfg must outlive the operator. Fails when an endpoint cannot be bound (a configured tcp
 * endpoint without usable CURVE keys, a runtime directory that cannot be created). With both
 * endpoints "off" it succeeds and serves nothing but systemd notifications. */
int trigd_operator_start(const struct trigd_config *cfg, struct trigd_cells *cells,
                         struct trigd_module *mod, struct trigd_operator **out, char *err,
                         size_t errlen);
/* READY=1 (the pipeline is up). */
void trigd_operator_ready(struct trigd_operator *o);
/* SIGHUP: same as the reload command; the outcome goes to the log. */
void trigd_operator_reload_signal(struct trigd_operator *o);
/* Shutdown has begun: state "stopping", STOPPING=1. */
void trigd_operator_stopping(struct trigd_operator *o);
void trigd_operator_stop(struct trigd_operator *o);

/* FNV-1a 64 of a text, as 16 hex digits: a change detector for the config (not cryptographic). */
void trigd_config_digest(const char *text, size_t len, char out[17]);

#endif
