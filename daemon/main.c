/* trigd: command line, configuration, then the run loop (run.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_reload.h"
#include "log.h"
#include "lt_error.h"
#include "run.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: trigd [-c FILE] [--check-config] [--role all|cell|module] [--cells LIST]\n"
            "             [--duration SECONDS] [--run N] [--status-interval SECONDS]\n"
            "             [--print-default-config]\n"
            "  -c, --config FILE       libconfig file (default: the embedded all-in-one config)\n"
            "      --check-config      validate the configuration and exit (0 = valid)\n"
            "      --role ROLE         override `role`: all, cell or module\n"
            "      --cells LIST        cell role: comma-separated cell ids to run (default all)\n"
            "      --duration S        override `duration_s` (data seconds; 0 = until stopped)\n"
            "      --run N             override `run_number`\n"
            "      --status-interval S status log line period (overrides "
            "monitor.status_interval_s)\n"
            "      --print-default-config  print the embedded configuration (every key at its\n"
            "                          default) and exit\n");
}

/* "0,3,5" -> sel[i] = 1 for the configured cells with those ids. */
static int parse_cells(const struct trigd_config *cfg, const char *list, uint8_t *sel)
{
    memset(sel, 0, TRIGD_MAX_CELLS);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long id = strtoul(tok, &end, 10);
        int idx = (*end || end == tok) ? -1 : trigd_config_cell_index(cfg, (uint32_t)id);
        if (idx < 0) {
            LT_ERR("--cells: \"%s\" is not a configured cell id", tok);
            return -1;
        }
        sel[idx] = 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"role", required_argument, NULL, 'r'},
        {"cells", required_argument, NULL, 'C'},
        {"duration", required_argument, NULL, 'd'},
        {"run", required_argument, NULL, 'n'},
        {"status-interval", required_argument, NULL, 's'},
        {"print-default-config", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *role = NULL, *cells = NULL;
    double status_interval = -1, duration = -1;
    long run = -1;
    int check_only = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check_only = 1;
            break;
        case 'p':
            trigd_config_print_default(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'r':
            role = optarg;
            break;
        case 'C':
            cells = optarg;
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 'n':
            run = atol(optarg);
            break;
        case 's':
            status_interval = atof(optarg);
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    lt_log_set_ident("trigd");
    static struct lt_pipeline_config pc;
    struct trigd_config *cfg = &pc.c;
    char err[1024];
    if (trigd_config_load(path, cfg, err, sizeof err)) {
        LT_ERR("configuration: %s", err);
        return 1;
    }
    if (role && trigd_role_parse(role, &cfg->role)) {
        LT_ERR("--role: \"%s\" is not one of all, cell, module", role);
        return 2;
    }
    if (duration >= 0) cfg->duration_s = duration;
    if (run >= 0) cfg->run_number = (uint32_t)run;
    if (cfg->role != TRIGD_ROLE_ALL && (!strncmp(cfg->endpoints.candidates, "inproc://", 9) ||
                                        !strncmp(cfg->endpoints.requests, "inproc://", 9))) {
        LT_ERR("role %s needs ipc:// or tcp:// endpoints (endpoints.candidates/requests)",
               trigd_role_name(cfg->role));
        return 2;
    }
    static uint8_t sel[TRIGD_MAX_CELLS];
    if (cells && parse_cells(cfg, cells, sel)) return 2;
    if (check_only) {
        printf("%s: configuration valid (%u cells, role %s)\n", cfg->source_name, cfg->n_cells,
               trigd_role_name(cfg->role));
        return 0;
    }
    trigd_apply_log_level(cfg->log_level);
    if (status_interval < 0) status_interval = cfg->monitor.status_interval_s;
    return trigd_run(&pc, cells ? sel : NULL, status_interval);
}
