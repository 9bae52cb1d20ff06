#!/usr/bin/env bash
# Install the Debian 12 packages lartrig needs, but only those that are missing, so the README
# commands are idempotent and fast on a prepared machine. Usage: tools/deps.sh [--with-python]
#   --with-python  also the packages for training and h5py checks (python3-torch is large).
set -euo pipefail

packages=(
    build-essential cmake pkg-config git
    libzmq3-dev liburing-dev libhdf5-dev hdf5-tools check libconfig-dev libjansson-dev
    libpng-dev libsystemd-dev libxrt-dev
    python3-h5py python3-numpy
    clang libclang-rt-14-dev
    iproute2 util-linux curl
)
if [[ "${1:-}" == "--with-python" ]]; then
    packages+=(python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#packages[@]} packages present"
    exit 0
fi

echo "deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
