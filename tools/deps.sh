#!/usr/bin/env bash
# Install the Debian 12 packages lartrig needs, but only those that are missing, so the README
# commands are idempotent and fast on a prepared machine. Usage: tools/deps.sh [--without-torch]
#   By default python3-torch is included, so CI runs the training tests (test_train_python)
#   instead of skipping them. --without-torch leaves it out (a large package; those tests then
#   skip). --with-python, the old opt-in, is accepted and changes nothing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git
    libzmq3-dev liburing-dev libhdf5-dev hdf5-tools check libconfig-dev libjansson-dev
    libpng-dev libsystemd-dev libxrt-dev
    python3-h5py python3-numpy python3-torch
    clang libclang-rt-14-dev
    iproute2 util-linux curl
)
case "${1:-}" in
"" | --with-python) ;;
--without-torch)
    kept=()
    for p in "${packages[@]}"; do [[ "$p" == python3-torch ]] || kept+=("$p"); done
    packages=("${kept[@]}")
    ;;
*)
    echo "usage: tools/deps.sh [--without-torch]" >&2
    exit 2
    ;;
esac

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
