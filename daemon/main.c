/* trigd: command line, configuration, then hand over to the run loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "lt_error.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: trigd [-c FILE] [--check-config] [--role all|cell|module] [--cells LIST]\n"
        "             [--status-interval SECONDS] [--print-default-config]\n"
        "  -c, --config FILE      libconfig file (default: the embedded all-in-one config)\n"
        "      --check-config     validate the configuration and exit (0 = valid)\n"
        "      --role ROLE        override `role`: all, cell or module\n"
        "      --cells LIST       cell role: comma-separated cell ids to run (default all)\n"
        "      --status-interval S  status log line period (overrides monitor.status_interval_s)\n"
        "      --print-default-config  print the embedded configuration and exit\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"role", required_argument, NULL, 'r'},
        {"cells", required_argument, NULL, 'C'},
        {"status-interval", required_argument, NULL, 's'},
        {"print-default-config", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int check_only = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check_only = 1;
            break;
        case 'p':
            fputs(trigd_default_config_text, stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'r':
        case 'C':
        case 's':
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    lt_log_set_ident("trigd");
    static struct trigd_config cfg;
    char err[1024];
    if (trigd_config_load(path, &cfg, err, sizeof err)) {
        LT_ERR("configuration: %s", err);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration valid (%u cells, role %s)\n", cfg.source_name, cfg.n_cells,
               trigd_role_name(cfg.role));
        return 0;
    }
    LT_ERR("the run loop is not built yet");
    return 1;
}
