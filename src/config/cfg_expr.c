/* Recursive-descent evaluator for the numerical expressions allowed in
 * config values (a subset of Python's arithmetic, which users assume). */
#include "config/cfg_expr.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *s;
  const char *why;
  int depth;
} parser;

static void skip_ws(parser *p) {
  while (*p->s == ' ' || *p->s == '\t') p->s++;
}

static bool expr(parser *p, double *v);

static bool number(parser *p, double *v) {
  const char *start = p->s;
  const char *q = p->s;
  bool digits = false;
  while (isdigit((unsigned char)*q)) { q++; digits = true; }
  if (*q == '.') {
    q++;
    while (isdigit((unsigned char)*q)) { q++; digits = true; }
  }
  if (!digits) { p->why = "expected a number"; return false; }
  if (*q == 'e' || *q == 'E') {
    const char *e = q + 1;
    if (*e == '+' || *e == '-') e++;
    if (!isdigit((unsigned char)*e)) { p->why = "malformed exponent"; return false; }
    while (isdigit((unsigned char)*e)) e++;
    q = e;
  }
  /* strtod on exactly the scanned span (it would also accept hex, inf...). */
  char buf[64];
  size_t n = (size_t)(q - start);
  if (n >= sizeof buf) { p->why = "number too long"; return false; }
  memcpy(buf, start, n);
  buf[n] = '\0';
  *v = strtod(buf, NULL);
  p->s = q;
  return true;
}

static bool atom(parser *p, double *v) {
  skip_ws(p);
  if (*p->s == '(') {
    p->s++;
    if (!expr(p, v)) return false;
    skip_ws(p);
    if (*p->s != ')') { p->why = "missing ')'"; return false; }
    p->s++;
    return true;
  }
  return number(p, v);
}

static bool unary(parser *p, double *v);

static bool power(parser *p, double *v) {
  if (!atom(p, v)) return false;
  skip_ws(p);
  if (p->s[0] == '*' && p->s[1] == '*') {
    p->s += 2;
    double e;
    if (!unary(p, &e)) return false; /* right-associative, binds tighter than unary minus on the left */
    *v = pow(*v, e);
  }
  return true;
}

/* Every recursion (parentheses, signs, **) passes through here, so this
 * one depth bound keeps hostile input from exhausting the stack. */
static bool unary(parser *p, double *v) {
  if (++p->depth > 64) {
    p->why = "expression nested too deeply";
    return false;
  }
  skip_ws(p);
  bool ok;
  if (*p->s == '-' || *p->s == '+') {
    char op = *p->s++;
    ok = unary(p, v);
    if (ok && op == '-') *v = -*v;
  } else {
    ok = power(p, v);
  }
  p->depth--;
  return ok;
}

static bool term(parser *p, double *v) {
  if (!unary(p, v)) return false;
  for (;;) {
    skip_ws(p);
    char op = *p->s;
    if ((op != '*' && op != '/') || p->s[1] == '*') return true;
    p->s++;
    double r;
    if (!unary(p, &r)) return false;
    if (op == '*') {
      *v *= r;
    } else {
      if (r == 0) { p->why = "division by zero"; return false; }
      *v /= r;
    }
  }
}

static bool expr(parser *p, double *v) {
  if (!term(p, v)) return false;
  for (;;) {
    skip_ws(p);
    char op = *p->s;
    if (op != '+' && op != '-') return true;
    p->s++;
    double r;
    if (!term(p, &r)) return false;
    *v = op == '+' ? *v + r : *v - r;
  }
}

bool cz_eval_number(const char *text, double *out, const char **why) {
  parser p = {text, NULL, 0};
  double v;
  if (!expr(&p, &v)) {
    if (why) *why = p.why ? p.why : "not a number";
    return false;
  }
  skip_ws(&p);
  if (*p.s != '\0') {
    if (why) *why = "not a number or numerical expression";
    return false;
  }
  if (!isfinite(v)) {
    if (why) *why = "value is not finite";
    return false;
  }
  *out = v;
  return true;
}
