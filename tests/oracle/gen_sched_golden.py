#!/usr/bin/env python3
"""Golden learning rates from timm's schedulers (timm 1.0.31,
timm.scheduler.create_scheduler_v2) for tests/unit/test_sched_timm.c.

Builds each setting of a grid (every scheduler type x warmup on/off x
warmup_prefix x cooldown x cycles/limits/k_decay x per-epoch/per-update
stepping, plateau with fixed metric sequences) and records the optimizer's
lr after construction and after every step()/step_update() call.  lr noise
is off in every case (timm draws it from torch's generator, which czoo does
not reproduce; test_sched_timm checks czoo's noise statistically instead).

Run with the venv python (timm from PyPI):
  .venv/bin/python3 tests/oracle/gen_sched_golden.py > tests/data/sched_golden.txt
With --check FILE it compares instead and exits 1 when FILE differs (the
CTest oracle.sched_golden runs that, so the committed file stays timm's).

Format, one record per line:
  case <name>
  p key=value ...      create_scheduler_v2 arguments (lists comma-separated)
  n <num_epochs>       as returned by create_scheduler_v2
  i <lr>               lr right after construction
  s <t> <metric|-> <lr>   lr after step(t, metric)
  u <t> <lr>           lr after step_update(t)
  end
Floats are Python repr (shortest round-trip), so strtod reads them exactly.
"""
import itertools
import sys
import warnings

import timm
import torch
from timm.scheduler import create_scheduler_v2

warnings.simplefilter('ignore')
assert timm.__version__ == '1.0.31', timm.__version__


def fmt(v):
    if isinstance(v, bool):
        return '1' if v else '0'
    if isinstance(v, (list, tuple)):
        return ','.join(fmt(x) for x in v)
    return repr(v)


def run(name, kw, ops, out):
    """kw: create_scheduler_v2 keywords plus 'lr'; ops: list of
    ('s', t, metric) or ('u', t)."""
    kw = dict(kw)
    lr = kw.pop('lr')
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched, num_epochs = create_scheduler_v2(opt, **kw)
    out.append(f'case {name}')
    out.append('p lr=' + fmt(lr) + ' ' + ' '.join(f'{k}={fmt(v)}' for k, v in kw.items()))
    out.append(f'n {num_epochs}')
    out.append(f'i {opt.param_groups[0]["lr"]!r}')
    for op in ops:
        if op[0] == 's':
            sched.step(op[1], op[2])
            m = '-' if op[2] is None else repr(op[2])
            out.append(f's {op[1]} {m} {opt.param_groups[0]["lr"]!r}')
        else:
            sched.step_update(op[1])
            out.append(f'u {op[1]} {opt.param_groups[0]["lr"]!r}')
    out.append('end')
    return num_epochs


def base(sched, **over):
    kw = dict(sched=sched, lr=0.1, num_epochs=10, decay_epochs=3,
              decay_milestones=[2, 5, 7], cooldown_epochs=0, patience_epochs=2,
              decay_rate=0.5, min_lr=0.0, warmup_lr=1e-5, warmup_epochs=0,
              warmup_prefix=False, cycle_mul=1.0, cycle_decay=0.5,
              cycle_limit=1, k_decay=1.0, plateau_mode='max',
              step_on_epochs=True, updates_per_epoch=0)
    kw.update(over)
    return kw


def stateless_ops(kw, out_len):
    if kw['step_on_epochs']:
        ops = [('s', t, None) for t in range(out_len + 3)]
        ops.append(('u', 4))  # no effect in epoch mode
    else:
        upe = kw['updates_per_epoch']
        ops = [('u', t) for t in range(out_len * upe + 3)]
        ops.append(('s', 2, None))  # no effect in update mode
    return ops


def main():
    out = []
    n = 0
    cyc = [dict(cycle_mul=1.0, cycle_limit=1),
           dict(cycle_mul=1.0, cycle_limit=3, cycle_decay=0.5),
           dict(cycle_mul=2.0, cycle_limit=3, cycle_decay=0.7),
           dict(cycle_mul=1.5, cycle_limit=2, cycle_decay=0.5)]
    # cycle-based schedulers: type x warmup x prefix x cooldown x cycles
    for sched in ('cosine', 'tanh', 'poly'):
        for (wu, pre), cd, c in itertools.product(
                [(0, False), (3, False), (3, True)], (0, 2), range(len(cyc))):
            if cd and c in (1, 3):
                continue
            extra = dict(cyc[c])
            if sched != 'tanh' and c == 2:
                extra['k_decay'] = 2.0
            if sched == 'poly':
                extra['decay_rate'] = 0.9 if c else 2.0
            if (wu + c) % 2:
                extra['min_lr'] = 1e-3
            kw = base(sched, warmup_epochs=wu, warmup_prefix=pre, cooldown_epochs=cd, **extra)
            _, ne = create_scheduler_v2(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                                        **{k: v for k, v in kw.items() if k != 'lr'})
            run(f'{sched}{n}', kw, stateless_ops(kw, ne), out)
            n += 1
    # k_decay below 1 for cosine and poly
    for sched in ('cosine', 'poly'):
        kw = base(sched, k_decay=0.5, warmup_epochs=2)
        run(f'{sched}{n}', kw, stateless_ops(kw, 12), out)
        n += 1
    # step and multistep: warmup x prefix x decay settings
    for sched in ('step', 'multistep'):
        for (wu, pre), dec in itertools.product(
                [(0, False), (2, False), (2, True)], (0, 1)):
            extra = dict(decay_epochs=3 if dec == 0 else 4.0,
                         decay_milestones=[2, 5, 7] if dec == 0 else [1, 4],
                         decay_rate=0.5 if dec == 0 else 0.1, cooldown_epochs=dec)
            kw = base(sched, warmup_epochs=wu, warmup_prefix=pre, **extra)
            run(f'{sched}{n}', kw, stateless_ops(kw, 13), out)
            n += 1
    # per-update stepping for each stateless type
    for sched, (wu, pre), c in itertools.product(
            ('cosine', 'tanh', 'poly', 'step', 'multistep'),
            [(0, False), (2, False), (2, True)], (0, 2)):
        if sched in ('step', 'multistep') and c:
            continue
        kw = base(sched, num_epochs=6, warmup_epochs=wu, warmup_prefix=pre,
                  cooldown_epochs=1 if c else 0, step_on_epochs=False,
                  updates_per_epoch=3, **cyc[c])
        _, ne = create_scheduler_v2(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                                    **{k: v for k, v in kw.items() if k != 'lr'})
        run(f'{sched}{n}', kw, stateless_ops(kw, max(ne, 8)), out)
        n += 1
    # edge cases: the spec's example (epochs 2 < warmup 5), a float
    # decay_epochs per update, cycle_limit 0, shrinking cycles (mul 0.5)
    edges = [base(k, num_epochs=2, warmup_epochs=5, decay_epochs=90,
                  decay_milestones=[90, 180, 270], decay_rate=0.1, cycle_decay=0.5)
             for k in ('cosine', 'tanh', 'step', 'multistep', 'poly')]
    edges += [base('step', decay_epochs=2.5, step_on_epochs=False, updates_per_epoch=2),
              base('multistep', decay_milestones=[1, 3, 3, 4], step_on_epochs=False,
                   updates_per_epoch=2, warmup_epochs=1, warmup_prefix=True),
              base('cosine', cycle_limit=0, warmup_epochs=1),
              base('cosine', cycle_mul=0.5, cycle_limit=2, cycle_decay=0.9),
              base('poly', cycle_mul=0.5, cycle_limit=2, decay_rate=1.5, k_decay=0.7)]
    for kw in edges:
        _, ne = create_scheduler_v2(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                                    **{k: v for k, v in kw.items() if k != 'lr'})
        run(f'{kw["sched"]}{n}', kw, stateless_ops(kw, ne), out)
        n += 1
    # plateau: fixed metric sequences, in order as train.py feeds them
    up = [10, 20, 30, 30, 29, 30.001, 28, 27, 40, 40, 40, 40, 39, 39, 39, 39, 39, 39, 39, 39]
    down = [2.0, 1.5, 1.4, 1.45, 1.4, 1.3999, 1.6, 1.2, 1.2, 1.3, 1.3, 1.3, 1.3, 1.3, 1.1,
            1.1, 1.1, 1.1, 1.1, 1.1]
    for mode, (wu, pre), mn, pat in itertools.product(
            ('max', 'min'), [(0, False), (3, False), (3, True)], (0.0, 0.01), (1, 2)):
        seq = up if mode == 'max' else down
        kw = base('plateau', plateau_mode=mode, warmup_epochs=wu, warmup_prefix=pre,
                  min_lr=mn, patience_epochs=pat, decay_rate=0.3)
        ops = [('s', 0, None)] + [('s', e + 1, float(m)) for e, m in enumerate(seq)]
        ops.insert(5, ('s', 5, None))
        ops.append(('u', 30))
        run(f'plateau{n}', kw, ops, out)
        n += 1
    text = ('# generated by tests/oracle/gen_sched_golden.py (timm %s, torch %s)\n'
            % (timm.__version__, torch.__version__)) + '\n'.join(out) + '\n'
    sys.stderr.write(f'{n} cases\n')
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        with open(sys.argv[2]) as f:
            old = f.read()
        if old != text:
            a, b = old.splitlines(), text.splitlines()
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            sys.stderr.write(f'{sys.argv[2]} differs from timm at line {i + 1}\n')
            sys.exit(1)
        sys.stderr.write(f'{sys.argv[2]} matches timm\n')
    else:
        sys.stdout.write(text)


if __name__ == '__main__':
    main()
