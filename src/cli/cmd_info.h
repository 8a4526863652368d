/* The `czoo info FILE` subcommand (see cmd_info.c). */
#ifndef CZ_CLI_CMD_INFO_H
#define CZ_CLI_CMD_INFO_H
#include "util/err.h"

/* argv[0] is "info". */
cz_err *cz_cmd_info(int argc, char **argv);
#endif
