/* Python's float repr: shortest round-trip digits found by trying 1..17
 * significant digits with printf's correctly rounded %e, then laid out by
 * CPython's rules for repr (decimal point position decpt, the value being
 * 0.DIGITS x 10^decpt: exponent notation when decpt <= -4 or decpt > 16). */
#include "train/metrics_pyfloat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *cz_pyfloat_repr(double x, char out[CZ_PYFLOAT_MAX]) {
  if (isnan(x)) return strcpy(out, "nan");
  if (isinf(x)) return strcpy(out, x < 0 ? "-inf" : "inf");
  if (x == 0.0) return strcpy(out, signbit(x) ? "-0.0" : "0.0");
  char sci[40];
  for (int p = 0; p <= 16; p++) {
    snprintf(sci, sizeof sci, "%.*e", p, x);
    if (strtod(sci, NULL) == x) break;
  }
  /* sci is [-]d[.ddd]e[+-]XX: collect the digits and the exponent. */
  const char *s = sci;
  int neg = *s == '-';
  if (neg) s++;
  char digits[24];
  int nd = 0;
  for (; *s && *s != 'e'; s++)
    if (*s != '.') digits[nd++] = *s;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  int exp10 = atoi(s + 1);
  int decpt = exp10 + 1;
  char *o = out;
  if (neg) *o++ = '-';
  if (decpt <= -4 || decpt > 16) {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)nd - 1);
      o += nd - 1;
    }
    char ex[16];
    snprintf(ex, sizeof ex, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    strcpy(o, ex);
    return out;
  }
  if (decpt <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -decpt; i++) *o++ = '0';
    memcpy(o, digits, (size_t)nd);
    o += nd;
  } else if (decpt < nd) {
    memcpy(o, digits, (size_t)decpt);
    o += decpt;
    *o++ = '.';
    memcpy(o, digits + decpt, (size_t)(nd - decpt));
    o += nd - decpt;
  } else {
    memcpy(o, digits, (size_t)nd);
    o += nd;
    for (int i = nd; i < decpt; i++) *o++ = '0';
    *o++ = '.';
    *o++ = '0';
  }
  *o = '\0';
  return out;
}
