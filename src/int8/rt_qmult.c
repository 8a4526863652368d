/* Fixed-point multipliers from real scales (see rt_qmult.h). */
#include "int8/rt_qmult.h"

#include <math.h>
#include <string.h>

void rt_qmult(double real, int32_t *mult, int32_t *shift) {
  *mult = 0;
  *shift = 0;
  if (!(real > 0)) return;
  int e;
  double frac = frexp(real, &e); /* real = frac * 2^e, frac in [0.5, 1) */
  int64_t q = (int64_t)llround(frac * 2147483648.0);
  if (q == ((int64_t)1 << 31)) {
    q /= 2;
    e++;
  }
  if (e < -31) return; /* below 2^-32: |acc| < 2^31 always rounds to 0 */
  if (e > 30) e = 30, q = INT32_MAX;
  *mult = (int32_t)q;
  *shift = e;
}

void rt_add_params(double sa, int32_t za, double sb, int32_t zb, double sy, int32_t zy,
                   int32_t lo, int32_t hi, rt_add_p *p) {
  memset(p, 0, sizeof *p);
  const int left = 20;
  const double twice_max = 2.0 * (sa > sb ? sa : sb);
  rt_qmult(sa / twice_max, &p->a_mult, &p->a_shift);
  rt_qmult(sb / twice_max, &p->b_mult, &p->b_shift);
  rt_qmult(twice_max / ((double)(1 << left) * sy), &p->out_mult, &p->out_shift);
  p->left_shift = left;
  p->a_zp = za;
  p->b_zp = zb;
  p->out_zp = zy;
  p->act_min = lo;
  p->act_max = hi;
}
