#!/usr/bin/env bash
# Installs everything czoo needs on Debian 12: the Debian packages by name
# and, with --oracles (what `make test` and `make bench` pass), the PyPI
# packages used only as test oracles and benchmark peers, into .venv (made
# with --system-site-packages, so it sees python3-torch and python3-onnx).
# Idempotent: does nothing when all is present; runs `apt-get update` only
# when a package is missing. Non-interactive.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
with_oracles=0
case "${1:-}" in
  --oracles) with_oracles=1 ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--oracles]" >&2; exit 2 ;;
esac

# Build, test and fuzz tools, and the libraries czoo links against.
debian_packages=(
  build-essential cmake pkg-config
  clang libclang-rt-14-dev          # libFuzzer + sanitizers for the fuzz targets
  libomp-14-dev                     # OpenMP for clang builds (gcc has libgomp)
  valgrind
  libyaml-dev                       # YAML config parser
  zlib1g-dev                        # gzip reader for the IDX (MNIST) files
  libcmocka-dev                     # unit test framework
  libjpeg62-turbo-dev libspng-dev   # JPEG and PNG decoding of dataset images
  libmatio-dev                      # MATLAB .mat reader for Flowers-102's labels and splits
  libcjson-dev                      # JSON header of safetensors weights files
  libonnx-dev                       # onnx.proto, from which the ONNX bindings are generated
  protobuf-c-compiler libprotobuf-c-dev  # protoc-c and libprotobuf-c for those bindings
  python3-onnx                      # onnx.checker for the ONNX export tests
  libcairo2-dev                     # PNG plots: training curves, confusion matrix (brings libfontconfig-dev)
  python3-pil                       # reference decoder for the image tests and fuzz seeds
  python3 python3-venv python3-yaml # CLI tests and the config-load benchmark peer
  dataset-fashion-mnist             # the demo's real data, no download at run time
  python3-torch python3-numpy python3-torchvision  # engine oracle and benchmark peer
)

# PyPI packages for test oracles and benchmark peers only, never for czoo
# itself (later issues add tensorboard here). timm and
# pytorchcv install without pulling their own torch: the venv sees Debian's.
pypi_packages=(
  omegaconf==2.3.0                  # Hydra's config loader: the `make bench` peer
  timm==1.0.31                      # reference models, AutoAugment/RandAugment oracle, data bench peer
  pytorchcv==0.0.74                 # reference models of the pytorchcv family
  safetensors==0.8.0                # writes the safetensors files the reader is tested on
  onnxruntime==1.20.1               # runs czoo's exported ONNX files (works with Debian's numpy 1.24)
  tensorboard==2.20.0               # EventAccumulator reads czoo's event files (pulls no torch/numpy)
)

missing=()
for p in "${debian_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo=(sudo); else
      echo "setup: error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  # apt's own output only when something fails: it is long and says nothing otherwise.
  if ! { "${sudo[@]}" apt-get update -qq && \
         "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: error: installing ${missing[*]} failed (apt's output above)" >&2
    exit 1
  fi
  rm -f "$log"
  echo "setup: installed ${missing[*]}"
fi

if ((with_oracles && ${#pypi_packages[@]})); then
  venv="$here/.venv"
  if [ ! -x "$venv/bin/python3" ]; then
    echo "setup: creating $venv (with system site packages)"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
  fi
  need=()
  for p in "${pypi_packages[@]}"; do
    name=${p%%[=<>]*}
    "$venv/bin/python3" -m pip show -q "$name" >/dev/null 2>&1 || need+=("$p")
  done
  if ((${#need[@]})); then
    echo "setup: installing PyPI oracle packages: ${need[*]}"
    if ! "$venv/bin/python3" -m pip install -q "${need[@]}"; then
      echo "setup: error: could not install ${need[*]} from PyPI (see pip's output above)" >&2
      exit 1
    fi
  fi
  # onnxruntime's quantization tools (the quantizer's oracle) import
  # onnx >= 1.16; Debian's python3-onnx is 1.12 and stays the venv's onnx.
  # onnx 1.17 goes into a folder of its own, put on PYTHONPATH by the
  # quantization oracle tests only (tests/CMakeLists.txt).
  if [ ! -f "$venv/onnx-quant/onnx/__init__.py" ]; then
    echo "setup: installing onnx==1.17.0 into $venv/onnx-quant (quantization oracle)"
    if ! "$venv/bin/python3" -m pip install -q --no-deps --target "$venv/onnx-quant" onnx==1.17.0; then
      echo "setup: error: could not install onnx==1.17.0 from PyPI (see pip's output above)" >&2
      exit 1
    fi
  fi
fi
