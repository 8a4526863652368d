/* The Hydra-compatible command line:
 *   czoo [--config-path DIR] [--config-name NAME] [-c FILE] [--cfg job]
 *        [overrides...] | --help | --version */
#ifndef CZ_CLI_ARGS_H
#define CZ_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct {
  char *config_file;   /* owned: the YAML file to read */
  char **overrides;    /* owned: in command-line order */
  size_t n_overrides;
  bool print_cfg;      /* --cfg job: print the resolved config and exit */
  bool help, version;
} cz_args;

cz_err *cz_args_parse(int argc, char **argv, cz_args *out);
void cz_args_free(cz_args *a);
const char *cz_args_usage(void);

#endif
