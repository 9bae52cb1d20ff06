/* Each stage's configuration slice: see config_slices.h. */
#include "config_slices.h"

#include <string.h>

void trigd_config_cells(const struct trigd_config *cfg, struct trigd_cells_config *out)
{
    out->n_cells = cfg->n_cells;
    out->cells = cfg->cells;
    out->sim = &cfg->sim;
    out->duration_s = cfg->duration_s;
    out->kernel = cfg->kernel;
    out->candidates_ep = cfg->endpoints.candidates;
    out->requests_ep = cfg->endpoints.requests;
    out->send_hwm = cfg->endpoints.send_hwm;
    out->tcp = trigd_config_data_tcp(cfg);
    out->curve = trigd_config_data_curve(cfg);
    out->module_public_key_file = cfg->endpoints.curve_module_public_key_file;
    out->cell_secret_key_files = cfg->endpoints.curve_cell_secret_key_files;
    out->latency_ms = cfg->buffers.latency_ms;
    out->mlock = cfg->buffers.mlock;
    out->file_read_ahead_bytes = cfg->buffers.file_read_ahead_bytes;
    out->pre_ticks = cfg->readout.pre_ticks;
    out->post_ticks = cfg->readout.post_ticks;
    out->data_wait_ms = cfg->readout.data_wait_ms;
}

void trigd_config_cell_ids(const struct trigd_config *cfg, struct trigd_cell_ids *out)
{
    out->n = cfg->n_cells;
    for (uint32_t i = 0; i < cfg->n_cells; i++) out->id[i] = cfg->cells[i].id;
}

void trigd_config_input(const struct trigd_config *cfg, struct trigd_input_config *out)
{
    trigd_config_cell_ids(cfg, &out->cells);
    out->max_time_lead_ticks = cfg->trigger.max_time_lead_ticks;
    out->max_sequence_gap = cfg->trigger.max_sequence_gap;
}

void trigd_config_aggregator(const struct trigd_config *cfg, struct lt_aggregator_config *out)
{
    trigd_config_cell_ids(cfg, &out->cells);
    out->candidate_queue = cfg->buffers.candidate_queue;
    out->pre_ticks = cfg->readout.pre_ticks;
    out->post_ticks = cfg->readout.post_ticks;
    out->trigger = cfg->trigger;
}

void trigd_config_record_layout(const struct trigd_config *cfg, struct trigd_record_layout *out)
{
    out->run_number = cfg->run_number;
    out->n_cells = cfg->n_cells;
    for (uint32_t i = 0; i < cfg->n_cells; i++) {
        out->cells[i].id = cfg->cells[i].id;
        out->cells[i].n_streams = cfg->cells[i].n_fembs * LT_STREAMS_PER_FEMB;
    }
}

void trigd_config_readout(const struct trigd_config *cfg, struct lt_readout_config *out)
{
    trigd_config_record_layout(cfg, &out->layout);
    out->decision_queue = cfg->buffers.decision_queue;
    out->reply_timeout_ms = cfg->readout.reply_timeout_ms;
    out->curve = trigd_config_data_curve(cfg);
}

void trigd_config_writer(const struct trigd_config *cfg, struct lt_recwriter_config *out)
{
    lt_recwriter_config_defaults(out); /* the writer's internal tunables */
    out->out_dir = cfg->writer.output_dir;
    out->env = cfg->writer.environment;
    out->writer_name = cfg->writer.name;
    out->application_name = "trigd";
    out->run_number = cfg->run_number;
    out->queue_capacity = cfg->writer.queue_depth;
    out->max_file_bytes = cfg->writer.max_file_size_bytes;
    out->max_file_records = cfg->writer.max_records_per_file;
    out->free_space_factor = cfg->writer.free_space_factor;
    out->force_pwritev = !strcmp(cfg->writer.backend, "pwritev");
    out->sync_each_record = cfg->writer.sync_each_record;
}

void trigd_config_module(const struct trigd_config *cfg, struct trigd_module_config *out)
{
    const struct trigd_endpoints *e = &cfg->endpoints;
    out->candidates_bind = e->candidates_bind[0] ? e->candidates_bind : e->candidates;
    out->requests_bind = e->requests_bind[0] ? e->requests_bind : e->requests;
    out->tcp = trigd_config_data_tcp(cfg);
    out->curve = trigd_config_data_curve(cfg);
    out->module_secret_key_file = e->curve_module_secret_key_file;
    out->cell_keys_file = e->curve_cell_keys_file;
    /* 0 = enough for every cell's two sockets twice over (reconnections), and some tools. */
    out->max_peers = e->max_peers ? e->max_peers : 4 * cfg->n_cells + 16;
    trigd_config_input(cfg, &out->input);
    trigd_config_aggregator(cfg, &out->aggregator);
    trigd_config_readout(cfg, &out->readout);
    trigd_config_writer(cfg, &out->writer);
}
