/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd.h - the commands of the tollgate binary. Each takes its argc/argv
 * (argv[0] is the command's name) and returns the process's exit status:
 * 0 success, 1 failure, 2 a command line it does not take.
 */
#ifndef TOLLGATE_CMD_H
#define TOLLGATE_CMD_H

int cmd_run(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_rate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_check_config(int argc, char **argv);

#endif /* TOLLGATE_CMD_H */
