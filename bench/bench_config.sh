#!/usr/bin/env bash
# Times czoo loading, validating and printing a complete config against the
# Python YAML loading the model-zoo tool does first. Usage: bench_config.sh [CZOO]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
czoo="${1:-$repo/build/czoo}"
[[ "$czoo" == /* ]] || czoo="$PWD/$czoo"
# The complete config the CLI tests load too (every documented section and key).
config="$repo/tests/data/full_config.yaml"
export CZOO_TEST_DATA="$repo/tests/data"
python=/usr/bin/python3
runs="${BENCH_RUNS:-30}"
warmups=3

if [[ ! -x "$czoo" ]]; then
  echo "bench_config.sh: $czoo: not an executable; build czoo first (cmake --build build)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
override="general.gpu_memory_limit=null" # the README's value only earns a warning

# Each command must work before it is timed, or the figure means nothing.
if ! (cd "$work" && "$czoo" -c "$config" --cfg job "$override" >/dev/null 2>"$work/czoo.err"); then
  echo "bench_config.sh: czoo rejected $config:" >&2
  cat "$work/czoo.err" >&2
  exit 1
fi
pyyaml_code='import yaml,sys; yaml.safe_load(open(sys.argv[1]))'
"$python" -c "$pyyaml_code" "$config"
# OmegaConf (what Hydra loads configs with) lives in the project's .venv,
# which scripts/setup.sh makes.
omegaconf_code='import sys; from omegaconf import OmegaConf; OmegaConf.to_container(OmegaConf.load(sys.argv[1]))'
venv_python="$repo/.venv/bin/python3"
have_omegaconf=0
if [[ -x "$venv_python" ]] && "$venv_python" -c "import omegaconf" 2>/dev/null; then have_omegaconf=1; fi

# One timing harness for all commands: each is a fresh process, timed the
# same way; runs are interleaved so that drift in machine load hits all alike.
"$python" - "$runs" "$warmups" "$work" "$have_omegaconf" \
  "$czoo" "$config" "$override" "$pyyaml_code" "$omegaconf_code" "$venv_python" <<'EOF'
import statistics, subprocess, sys, time

runs, warmups, work, have_oc = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
czoo, config, override, pyyaml_code, oc_code = sys.argv[5:10]
py = "/usr/bin/python3"
cmds = [("czoo", [czoo, "-c", config, "--cfg", "job", override]),
        ("PyYAML", [py, "-c", pyyaml_code, config]),
        ("python3 startup", [py, "-c", "pass"])]
if have_oc:
    cmds.append(("OmegaConf", [sys.argv[10], "-c", oc_code, config]))

def once(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0

times = {name: [] for name, _ in cmds}
for i in range(warmups + runs):
    for name, argv in cmds:
        t = once(argv)
        if i >= warmups:
            times[name].append(t)

med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
print(f"config: {config} ({runs} runs each after {warmups} warm-ups, median wall time per run)")
line = f"config load+validate: czoo {med['czoo']:.2f} ms | PyYAML {med['PyYAML']:.2f} ms | ratio Y/X = {med['PyYAML'] / med['czoo']:.1f}x"
print(line)
print(f"  (of which python3 start-up alone, 'python3 -c pass': {med['python3 startup']:.2f} ms)")
if have_oc:
    print(f"config load+validate: czoo {med['czoo']:.2f} ms | OmegaConf {med['OmegaConf']:.2f} ms"
          f" | ratio Y/X = {med['OmegaConf'] / med['czoo']:.1f}x")
else:
    print("OmegaConf: not installed in .venv (run scripts/setup.sh); second peer skipped")
EOF
