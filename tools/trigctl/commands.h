/* One function per trigctl subcommand, each in its own cmd_<name>.c. argv[0] is the subcommand
 * name; the function returns the process exit code (0 ok, 1 runtime failure, 2 usage error). */
#ifndef LARTRIG_TRIGCTL_COMMANDS_H
#define LARTRIG_TRIGCTL_COMMANDS_H

int cmd_version(int argc, char **argv);
/* status, trigger, pause, resume, stop, reload: one control request named by argv[0]. */
int cmd_ctl(int argc, char **argv);
int cmd_top(int argc, char **argv);
/* Prometheus exporter: the monitor socket's status documents served as /metrics. */
int cmd_metrics(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif
