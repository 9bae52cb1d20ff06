/* trigctl: the operator's and physicist's tool. Dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    /* Each subcommand's helper adds its line here when its cmd_<name>.c lands. */
    {"version", cmd_version, "print the version"},
    {"inspect", cmd_inspect, "list the records, fragments and truth of an HDF5 file"},
    {"sim", cmd_sim, "write a run file of simulated cells with a truth table"},
    {"status", cmd_ctl, "show the running daemon's status (table, or --json)"},
    {"top", cmd_top, "live status view from the monitor socket"},
    {"metrics", cmd_metrics, "serve the daemon's status as Prometheus metrics over HTTP"},
    {"trigger", cmd_ctl, "ask the daemon for a manual trigger now"},
    {"pause", cmd_ctl, "stop issuing triggers"},
    {"resume", cmd_ctl, "issue triggers again"},
    {"stop", cmd_ctl, "clean shutdown of the daemon"},
    {"reload", cmd_ctl, "re-read the daemon's config file"},
    {"show", cmd_show, "event display (PNG) of a trigger record or a run-file window"},
    {"replay", cmd_replay, "run the trigger pipeline on a run file: efficiency, reduction"},
    {"keygen", cmd_keygen, "write a CURVE key pair for tcp operator sockets"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: trigctl <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'trigctl <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    lt_log_set_ident("trigctl");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("trigctl %s\n", LARTRIG_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trigctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
