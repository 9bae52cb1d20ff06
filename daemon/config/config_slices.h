/* From the parsed configuration (config.h, shaped like the file) to each stage's own slice. The
 * stages never see struct trigd_config: their create functions take the small struct their
 * header defines, filled here. Strings in a slice point into cfg, which must outlive the stage. */
#ifndef TRIGD_CONFIG_SLICES_H
#define TRIGD_CONFIG_SLICES_H

#include "aggregator.h"
#include "candidate_gate.h"
#include "cell.h"
#include "config.h"
#include "module.h"
#include "readout.h"
#include "recwriter.h"

void trigd_config_cells(const struct trigd_config *cfg, struct trigd_cells_config *out);
void trigd_config_cell_ids(const struct trigd_config *cfg, struct trigd_cell_ids *out);
/* The candidate gate's: the cells and the data-plane bounds of trigger.*. */
void trigd_config_input(const struct trigd_config *cfg, struct trigd_input_config *out);
void trigd_config_aggregator(const struct trigd_config *cfg, struct lt_aggregator_config *out);
void trigd_config_record_layout(const struct trigd_config *cfg, struct trigd_record_layout *out);
void trigd_config_readout(const struct trigd_config *cfg, struct lt_readout_config *out);
void trigd_config_writer(const struct trigd_config *cfg, struct lt_recwriter_config *out);
/* All of the module's: its endpoints (the *_bind ones when set), their security and its stages'
 * slices. */
void trigd_config_module(const struct trigd_config *cfg, struct trigd_module_config *out);

#endif
