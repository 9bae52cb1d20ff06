#!/usr/bin/env bash
# Several hosts: the module and two cell hosts, each in a network namespace this test makes
# (ip netns), joined by veth pairs to a bridge in the module's namespace (10.77.0.0/24: module
# 10.77.0.1, host A 10.77.0.2 with cells 0,1, host B 10.77.0.3 with cells 2,3), over tcp.
# Periodic triggers, paced data with a shared epoch. Then host B's link is cut
# (ip link set down) for 3 s and restored. Checks:
#  - the module declares cells 2 and 3 missing and goes on deciding (records during the cut);
#  - records during the cut flag host B's fragments kDataNotFound, host A's never;
#  - after the link is back, cells 2 and 3 rejoin and records are complete again;
#  - nothing accepted is lost: one record per decision (built = written = triggers), exit 0.
# Exit 77 (ctest SKIP) with the reason when namespaces cannot be made here (not root, no `ip`).
set -uo pipefail
bin=${LARTRIG_BINARY_DIR:?}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "no ip command (iproute2)"

id=$(($$ % 100000))
M=ltm$id A=lta$id B=ltb$id
tmp=$(mktemp -d /tmp/test_multihost.XXXXXX)
pids=() fail=0
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    for ns in $M $A $B; do ip netns del "$ns" 2>/dev/null; done
    if ((fail)); then echo "kept $tmp for inspection"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
die() { echo "FAIL: $*"; fail=1; exit 1; }

ip netns add "$M" 2>/dev/null || skip "ip netns add refused here"
ip netns add "$A" && ip netns add "$B" || die "ip netns add"
ip -n "$M" link set lo up
ip -n "$M" link add br0 type bridge || skip "no bridge support in this kernel"
ip -n "$M" addr add 10.77.0.1/24 dev br0
ip -n "$M" link set br0 up
n=2
for h in $A $B; do
    ip link add "v$h" type veth peer name "p$h" || skip "no veth support in this kernel"
    ip link set "v$h" netns "$h"
    ip link set "p$h" netns "$M"
    ip -n "$M" link set "p$h" master br0 up
    ip -n "$h" link set lo up
    ip -n "$h" addr add "10.77.0.$n/24" dev "v$h"
    ip -n "$h" link set "v$h" up
    n=$((n + 1))
done
echo "ok   namespaces: module $M (10.77.0.1), hosts $A (10.77.0.2), $B (10.77.0.3)"

# CURVE on the data sockets: a key pair for the module and one per cell (docs/security.md).
for k in module cell-0 cell-1 cell-2 cell-3; do
    "$trigctl" keygen "$tmp/$k" >/dev/null || { echo "FAIL trigctl keygen"; exit 1; }
done
for c in 0 1 2 3; do echo "$(head -n1 "$tmp/cell-$c.pub") $c"; done >"$tmp/cells.list"
cat >"$tmp/trigd.conf" <<EOF
cells = ( { id = 0; }, { id = 1; }, { id = 2; }, { id = 3; } );
sim = { seed = 21; realtime_factor = 0.02; high_energy_rate_hz = 0.0;
        epoch_unix_s = $(date +%s.%N | cut -c1-14); };
trigger = { cell_timeout_ms = 600; coincidence = { enabled = false; }; single = { enabled = false; };
            periodic = { enabled = true; period_ms = 10.0; }; };
readout = { data_wait_ms = 800; reply_timeout_ms = 1500; };
endpoints = { candidates = "tcp://10.77.0.1:5601"; candidates_bind = "tcp://10.77.0.1:5601";
              requests = "tcp://10.77.0.1:5602"; requests_bind = "tcp://10.77.0.1:5602";
              curve_module_secret_key_file = "$tmp/module.key";
              curve_module_public_key_file = "$tmp/module.pub";
              curve_cell_secret_key_files = "$tmp/cell-{id}.key";
              curve_cell_keys_file = "$tmp/cells.list"; };
writer = { output_dir = "$tmp"; };
monitor = { control_endpoint = "off"; status_endpoint = "off"; };
EOF
wait_log() { # file, text, seconds
    for _ in $(seq $(($3 * 10))); do grep -q -- "$2" "$1" && return 0; sleep 0.1; done
    return 1
}
ip netns exec "$M" "$trigd" -c "$tmp/trigd.conf" --role module --status-interval 0 >"$tmp/module.log" 2>&1 &
pm=$!
pids+=($pm)
wait_log "$tmp/module.log" "running: role module" 20 || { cat "$tmp/module.log"; die "module did not start"; }
ip netns exec "$A" "$trigd" -c "$tmp/trigd.conf" --role cell --cells 0,1 --status-interval 0 >"$tmp/hostA.log" 2>&1 &
pa=$!
ip netns exec "$B" "$trigd" -c "$tmp/trigd.conf" --role cell --cells 2,3 --status-interval 0 >"$tmp/hostB.log" 2>&1 &
pb=$!
pids+=($pa $pb)
wait_log "$tmp/module.log" "trigger 6 " 40 || { tail "$tmp"/*.log; die "no decisions with both hosts"; }
echo "ok   decisions with both hosts"

ip -n "$B" link set "v$B" down
wait_log "$tmp/module.log" "cell 2 missing" 10 && wait_log "$tmp/module.log" "cell 3 missing" 10 ||
    { tail "$tmp/module.log"; die "cells of host B not declared missing"; }
before=$(grep -c "trigger [0-9]* at" "$tmp/module.log")
sleep 3
during=$(($(grep -c "trigger [0-9]* at" "$tmp/module.log") - before))
ip -n "$B" link set "v$B" up
((during >= 2)) || die "only $during decisions while host B was cut off"
echo "ok   host B cut off: cells 2, 3 missing, $during decisions meanwhile"
wait_log "$tmp/module.log" "cell 2 rejoined" 30 && wait_log "$tmp/module.log" "cell 3 rejoined" 30 ||
    { tail "$tmp/module.log"; die "cells of host B did not rejoin"; }
echo "ok   link restored: cells 2, 3 rejoined"
sleep 3

kill -TERM $pa $pb
wait_log "$tmp/hostA.log" "serving data requests" 20 && wait_log "$tmp/hostB.log" "serving data requests" 20 ||
    die "cell hosts did not stop in order"
kill -TERM $pm
wait $pm; rm_=$?
wait $pa; ra=$?
wait $pb; rb=$?
pids=()
((rm_ == 0 && ra == 0 && rb == 0)) || { tail "$tmp"/*.log; die "exit codes module $rm_ host A $ra host B $rb"; }
line=$(grep "module: " "$tmp/module.log" | tail -1)
read -r trig built written failed < <(sed -n 's/.* \([0-9]*\) triggers (.*records \([0-9]*\) built \([0-9]*\) written \([0-9]*\) failed.*/\1 \2 \3 \4/p' <<<"$line")
[[ -n $trig && $trig == "$built" && $built == "$written" && $failed == 0 ]] ||
    die "decisions and records differ: $line"

# Per record, in trigger order: which cells came back kDataNotFound.
for f in "$tmp"/*.hdf5; do "$trigctl" inspect --json "$f" >"$f.json" 2>/dev/null; done
python3 - "$tmp" "$trig" <<'EOF' || die "record check"
import glob, json, sys
tmp, trig = sys.argv[1], int(sys.argv[2])
recs = []
for j in sorted(glob.glob(tmp + "/*.hdf5.json")):
    for r in json.load(open(j))["records"]:
        nf = {fr["cell"] for fr in r["fragments"]
              if fr.get("fragment_type") == "WIBEth" and "kDataNotFound" in fr["error_bits"]}
        cells = {fr["cell"] for fr in r["fragments"] if fr.get("fragment_type") == "WIBEth"}
        assert cells == {0, 1, 2, 3}, (r["number"], cells)
        recs.append((r["number"], nf))
recs.sort()
assert len(recs) == trig, f"{len(recs)} records for {trig} decisions"
assert [n for n, _ in recs] == list(range(1, trig + 1)), "trigger numbers not 1..N"
phase, counts = -1, [0, 0, 0]   # start-up, complete, host B flagged, complete again
for n, nf in recs:
    if phase == -1:
        if nf: continue           # a host's data may begin after the first windows
        phase = 0
    assert not (nf & {0, 1}), f"record {n}: host A flagged {nf}"
    if not nf:
        if phase == 1: phase = 2
        counts[phase if phase != 1 else 2] += 1
    else:
        # Only host B's cells; at the edges of the cut one of them may be flagged alone (its two
        # request threads answer the queued requests at slightly different moments).
        assert nf <= {2, 3}, f"record {n}: {nf}"
        assert phase != 2, f"record {n}: host B flagged again after it rejoined"
        phase = 1
        counts[1] += nf == {2, 3}
print(f"ok   {trig} decisions, {trig} records: {counts[0]} complete, {counts[1]} with host B "
      f"kDataNotFound, {counts[2]} complete again")
assert counts[0] >= 2 and counts[1] >= 2 and counts[2] >= 2, counts
EOF
exit 0
