#!/bin/bash
# Unit tests of tools/train (integer reference, QAT vs integer model, WIBEth unpacking, weights
# file round trip). Needs Debian's python3 with numpy and torch; skips (ctest code 77) without.
set -euo pipefail
src=${LARTRIG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
if ! "$py" -c 'import numpy, torch, h5py' 2>/dev/null; then
    echo "SKIP: $py lacks numpy/torch/h5py"
    exit 77
fi
cd "$src"
exec "$py" -W error::ResourceWarning -m unittest discover -s tools/train -p 'test_*.py' -v
