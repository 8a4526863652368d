/* Lifetime-based placement of step buffers in one arena: each buffer lives
 * over an interval of steps; two buffers share memory only when their
 * intervals are disjoint. Greedy best-offset placement, largest first. */
#ifndef CZ_GRAPH_EXEC_PLAN_H
#define CZ_GRAPH_EXEC_PLAN_H
#include <stddef.h>

typedef struct {
  size_t bytes;
  int birth, death; /* inclusive step interval */
  size_t offset;    /* result */
} cz_plan_buf;

/* Assigns offsets (64-byte aligned); returns the arena size. */
size_t cz_plan_place(cz_plan_buf *b, int n);
#endif
