/* Numerical expressions in config values, as model-zoo users write them:
 * 1/255.0, 1/127.5, -1, 2e-5, (1+2)*3, 2**-3. */
#ifndef CZ_CONFIG_CFG_EXPR_H
#define CZ_CONFIG_CFG_EXPR_H

#include <stdbool.h>

/* Evaluates text as an arithmetic expression of decimal numbers with
 * + - * / ** and parentheses. Returns false, and a static reason in *why,
 * when text is not such an expression or its value is not finite. */
bool cz_eval_number(const char *text, double *out, const char **why);

#endif
