/* The `czoo models` subcommand (see cmd_models.c). */
#ifndef CZ_CLI_CMD_MODELS_H
#define CZ_CLI_CMD_MODELS_H
#include "util/err.h"

/* argv[0] is "models". */
cz_err *cz_cmd_models(int argc, char **argv);
#endif
