#!/usr/bin/env bash
# Install Lux on a GPU machine, run the CUDA-marked tests, then measure Lux against bare PyTorch (bench/gpu_check.py).
# Without a GPU it runs gpu_check.py's CPU fallback (tiny sizes, seconds), which is what CI checks.
#
#   bench/gpu_check.sh [--no-install] [gpu_check.py options, e.g. --json var/gpu_check.json]
#   LUX_PYTHON=python3 bench/gpu_check.sh --no-install   # a GPU machine whose own Python has PyTorch (no network)
#
# The CUDA tests are the engine's (tests/training, tests/classifier): they need PyTorch, not Django.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--no-install" ]]; then
    shift
else
    make install-dev
fi
PY="${LUX_PYTHON:-.venv/bin/python}"
"$PY" -c "import torch; print('torch', torch.__version__, '| CUDA devices:', torch.cuda.device_count(), \
'|', ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) or 'none')"

if "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    # The tests' own data folder, so a check never touches a real instance's media or database.
    data_dir="$(mktemp -d)"
    trap 'rm -rf "$data_dir"' EXIT
    SECRET_KEY=gpu-check LUX_HTTPS=false LUX_DATA_DIR="$data_dir" \
        "$PY" -m pytest -q -p no:cacheprovider -m cuda tests/training tests/classifier
    "$PY" bench/gpu_check.py "$@"
else
    echo "no CUDA device: skipping the CUDA-marked tests; CPU fallback at tiny sizes"
    "$PY" bench/gpu_check.py --tiny "$@"
fi
