#!/usr/bin/env bash
# The installed unit passes `systemd-analyze verify` (where systemd-analyze exists), and
# `cmake --install` puts unit, sysusers, tmpfiles and binaries where systemd looks for them.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?}
src=${LARTRIG_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$bin" --prefix "$tmp/usr" >/dev/null
unit="$tmp/usr/lib/systemd/system/trigd.service"
test -f "$unit"
test -f "$tmp/usr/lib/sysusers.d/lartrig.conf"
test -f "$tmp/usr/lib/tmpfiles.d/lartrig.conf"
test -f "$tmp/usr/share/lartrig/default.ltw"
grep -q '^Type=notify$' "$unit"
grep -q "^ExecStart=$tmp/usr/bin/trigd -c /etc/lartrig/trigd.conf\$" "$unit" ||
    grep -q '^ExecStart=/.*/trigd -c /etc/lartrig/trigd.conf$' "$unit"
for key in RuntimeDirectory=lartrig StateDirectory=lartrig LimitMEMLOCK=infinity \
    ProtectSystem=strict NoNewPrivileges=yes SystemCallFilter=@system-service \
    SystemCallErrorNumber=EPERM Restart=on-failure User=lartrig; do
    grep -q "^$key\$" "$unit" || { echo "unit lacks $key" >&2; exit 1; }
done
grep -q '^SystemCallFilter=.*io_uring_setup' "$unit" || { echo "io_uring not allowed" >&2; exit 1; }
# The metrics exporter's unit: its own process, trigctl metrics on the monitor socket, hardened.
munit="$tmp/usr/lib/systemd/system/trigd-metrics.service"
test -f "$munit"
grep -q '^ExecStart=/.*/trigctl metrics --listen ${LARTRIG_METRICS_LISTEN} --monitor ipc:///run/lartrig/monitor$' "$munit" ||
    { echo "metrics unit: unexpected ExecStart" >&2; exit 1; }
for key in ProtectSystem=strict NoNewPrivileges=yes SystemCallFilter=@system-service \
    CapabilityBoundingSet= MemoryDenyWriteExecute=yes PrivateTmp=yes Restart=on-failure \
    User=lartrig Group=lartrig PartOf=trigd.service WantedBy=trigd.service; do
    grep -q "^$key\$" "$munit" || { echo "metrics unit lacks $key" >&2; exit 1; }
done

if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze not installed; static checks passed"
    exit 0
fi
# verify needs ExecStart to exist: point it at the installed trigd when built, else at true(1).
exe="$tmp/usr/bin/trigd"
[ -x "$exe" ] || exe=/bin/true
sed "s|^ExecStart=[^ ]*|ExecStart=$exe|" "$unit" >"$tmp/trigd.service"
out=$(systemd-analyze verify "$tmp/trigd.service" 2>&1) || { echo "$out" >&2; exit 1; }
# verify prints warnings without failing: treat any line about our unit as an error.
if echo "$out" | grep -q 'trigd.service'; then echo "$out" >&2; exit 1; fi
mexe="$tmp/usr/bin/trigctl"
[ -x "$mexe" ] || mexe=/bin/true
sed "s|^ExecStart=[^ ]*|ExecStart=$mexe|" "$munit" >"$tmp/trigd-metrics.service"
out=$(cd "$tmp" && systemd-analyze verify "$tmp/trigd-metrics.service" 2>&1) || { echo "$out" >&2; exit 1; }
if echo "$out" | grep -q 'trigd-metrics.service'; then echo "$out" >&2; exit 1; fi
echo "systemd-analyze verify: ok"
