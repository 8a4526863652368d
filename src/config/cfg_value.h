/* One config value: conversion from a YAML node to its typed C form (with
 * the one-line error when it does not fit the key), and freeing, comparing
 * and printing typed values. */
#ifndef CZ_CONFIG_CFG_VALUE_H
#define CZ_CONFIG_CFG_VALUE_H

#include <stdbool.h>

#include "config/cfg.h"
#include "config/cfg_schema.h"
#include "io/yaml_doc.h"
#include "util/err.h"

/* Storage big and aligned enough for any value type. */
typedef union {
  cz_cbool b; cz_cint i; cz_cfloat f; cz_cstr s; cz_cenum e;
  cz_cints li; cz_cfloats lf; cz_cstrs ls;
} cz_value_scratch;

/* Converts non-null node n for key k into dst (a zeroed value of k's type);
 * path is the key path the user wrote (alias spelling included). */
cz_err *cz_value_from_node(const cz_key *k, const cz_ynode *n, const char *path, void *dst);
void cz_value_free(const cz_key *k, void *v);
bool cz_value_equal(const cz_key *k, const void *a, const void *b);
/* A YAML node for printing the value (null when unset). */
cz_ynode *cz_value_to_node(const cz_key *k, const void *v);
/* Byte size of k's value type (for scratch values). */
size_t cz_value_size(const cz_key *k);

/* The one-line error for a value the user gave:
 * "file:line:col: path = 'value': <message>". */
cz_err *cz_value_error(const cz_ynode *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "file:line:col: " (or "src: ") for n; caller frees. */
char *cz_node_where(const cz_ynode *n);
/* How n reads in an error: 'text', [a, b] or {...}; caller frees. */
char *cz_node_show(const cz_ynode *n);
/* Python-repr style shortest round-trip text of a double (0.00392156862745098, 2e-05, 1.0). */
void cz_format_double(double v, char *buf, size_t size);

#endif
