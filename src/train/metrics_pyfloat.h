/* Formats a double exactly as Python's repr(float) (and so str(), which the
 * csv module writes) does: the shortest digits that read back to the same
 * double, fixed notation for 1e-4 <= |x| < 1e16 with ".0" on whole numbers,
 * otherwise d.ddde+XX (CPython Python/pystrtod.c, format code 'r'). */
#ifndef CZ_TRAIN_METRICS_PYFLOAT_H
#define CZ_TRAIN_METRICS_PYFLOAT_H

#include <stddef.h>

enum { CZ_PYFLOAT_MAX = 32 }; /* enough for any double, NUL included */

/* Writes the repr of x into out (CZ_PYFLOAT_MAX bytes); returns out. */
char *cz_pyfloat_repr(double x, char out[CZ_PYFLOAT_MAX]);

#endif
