#!/bin/bash
# Operator sockets over tcp: CURVE keys from `trigctl keygen`, the daemon's ZAP allow-list lets a
# listed client in and leaves an unlisted one without an answer; a tcp endpoint without keys is a
# configuration error; keygen never overwrites a key; trigctl metrics subscribes with the same
# keys (an unlisted key: lartrig_up 0 and no trigd metrics).
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
py=/usr/bin/python3
tmp=$(mktemp -d)
tpid=
mpids=()
cleanup() {
    [[ -n $tpid ]] && kill "$tpid" 2>/dev/null
    for p in "${mpids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [[ -f $tmp/trigd.log ]] && tail -20 "$tmp/trigd.log" >&2
    exit 1
}
export RUNTIME_DIRECTORY=$tmp/run
mkdir -p "$RUNTIME_DIRECTORY" "$tmp/out"

"$trigctl" keygen "$tmp/server" >/dev/null || fail "keygen server"
"$trigctl" keygen "$tmp/good" >/dev/null || fail "keygen good"
"$trigctl" keygen "$tmp/bad" >/dev/null || fail "keygen bad"
[[ $(stat -c %a "$tmp/server.key") == 600 ]] || fail "secret key file is not mode 0600"
if "$trigctl" keygen "$tmp/good" 2>"$tmp/kg.err"; then fail "keygen overwrote a key pair"; fi
grep -q "not overwritten" "$tmp/kg.err" || fail "keygen overwrite message: $(cat "$tmp/kg.err")"
good_pub=$(head -1 "$tmp/good.pub")
[[ ${#good_pub} == 40 ]] || fail "public key is not 40 Z85 characters"
printf '# operators\n%s  alice\n' "$good_pub" >"$tmp/allowed"

ports=$("$py" -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
read -r cport mport <<<"$ports"

conf=$tmp/trigd.conf
cat >"$conf" <<CONF
cells = ( { id = 0; source = "sim"; n_fembs = 1; } );
sim = { realtime_factor = 0.02; ar39_rate_hz = 1000.0; };
kernel = { backend = "cpu"; threads = 1; block_periods = 4; };
endpoints = { candidates = "inproc://tcp-c"; requests = "inproc://tcp-r"; };
writer = { backend = "pwritev"; output_dir = "$tmp/out"; };
monitor = { control_endpoint = "tcp://127.0.0.1:$cport"; status_endpoint = "tcp://127.0.0.1:$mport";
            status_interval_s = 0.0; };
CONF
# Without the key files: refused by --check-config, naming the keys.
if "$trigd" --check-config -c "$conf" >"$tmp/check.out" 2>&1; then
    fail "tcp endpoint without CURVE keys accepted"
fi
grep -q "curve_secret_key_file" "$tmp/check.out" || fail "check message: $(cat "$tmp/check.out")"
sed -i "s|status_interval_s = 0.0;|status_interval_s = 0.0; curve_secret_key_file = \"$tmp/server.key\"; curve_allowed_keys_file = \"$tmp/allowed\";|" "$conf"
"$trigd" --check-config -c "$conf" >/dev/null || fail "config with keys rejected"

"$trigd" -c "$conf" >"$tmp/trigd.log" 2>&1 &
tpid=$!
ep=tcp://127.0.0.1:$cport
keys_good=(--server-key "$tmp/server.pub" --client-key "$tmp/good.pub" --client-secret "$tmp/good.key")
keys_bad=(--server-key "$tmp/server.pub" --client-key "$tmp/bad.pub" --client-secret "$tmp/bad.key")
ok=0
for _ in $(seq 100); do
    if "$trigctl" status --json --endpoint "$ep" "${keys_good[@]}" --timeout 500 >"$tmp/st.json" 2>/dev/null; then
        ok=1
        break
    fi
    kill -0 $tpid 2>/dev/null || fail "trigd died"
done
[[ $ok == 1 ]] || fail "the allowed client got no status over tcp"
"$py" -c "import json,sys; d=json.load(open('$tmp/st.json')); assert d['role']=='all' and d['cells'][0]['id']==0" ||
    fail "status over tcp"

# An unlisted key: the ZAP handler refuses the handshake, so no answer (exit 3).
set +e
"$trigctl" status --endpoint "$ep" "${keys_bad[@]}" --timeout 800 >/dev/null 2>"$tmp/bad.err"
rc=$?
# No keys at all against a CURVE server: also nothing.
"$trigctl" status --endpoint "$ep" --timeout 800 >/dev/null 2>&1
rc2=$?
set -e
[[ $rc == 3 ]] || fail "unlisted client: exit $rc, expected 3"
[[ $rc2 == 3 ]] || fail "client without keys: exit $rc2, expected 3"
# The monitor socket follows the same rule: the allowed client receives a status document.
"$trigctl" top --once --monitor "tcp://127.0.0.1:$mport" "${keys_good[@]}" --timeout 3000 >"$tmp/top.out" ||
    fail "top --once over tcp"
grep -q "role all" "$tmp/top.out" || fail "top output: $(head -3 "$tmp/top.out")"
# trigctl metrics subscribes the same way: with the allowed key its /metrics carries trigd's
# counters; with an unlisted key it gets nothing and says so (lartrig_up 0).
if command -v curl >/dev/null; then
    for who in good bad; do
        keys=("${keys_good[@]}")
        [[ $who == bad ]] && keys=("${keys_bad[@]}")
        "$trigctl" metrics --listen 127.0.0.1:0 --monitor "tcp://127.0.0.1:$mport" "${keys[@]}" \
            >"$tmp/metrics_$who.log" 2>&1 &
        mpids+=($!)
    done
    for who in good bad; do
        for _ in $(seq 50); do
            grep -q "(port [0-9]*)" "$tmp/metrics_$who.log" && break
            sleep 0.1
        done
    done
    pg=$(grep -o "(port [0-9]*)" "$tmp/metrics_good.log" | grep -o "[0-9]*")
    pb=$(grep -o "(port [0-9]*)" "$tmp/metrics_bad.log" | grep -o "[0-9]*")
    up=
    for _ in $(seq 30); do
        curl -s --max-time 5 "http://127.0.0.1:$pg/metrics" >"$tmp/good.prom" || true
        up=$(awk '$1 == "lartrig_up" { print $2 }' "$tmp/good.prom")
        [[ $up == 1 ]] && break
        sleep 0.2
    done
    [[ $up == 1 ]] || fail "metrics over tcp+CURVE: lartrig_up '$up'"
    grep -q '^lartrig_cell_frames_total{cell="0"} [1-9]' "$tmp/good.prom" ||
        fail "metrics over tcp+CURVE lack the frame counter"
    curl -s --max-time 5 "http://127.0.0.1:$pb/metrics" >"$tmp/bad.prom"
    grep -q "^lartrig_up 0$" "$tmp/bad.prom" || fail "an unlisted key's exporter reports up"
    ! grep -q "^lartrig_cell_frames_total" "$tmp/bad.prom" || fail "an unlisted key got trigd's metrics"
fi

"$trigctl" stop --endpoint "$ep" "${keys_good[@]}" >/dev/null || fail "stop over tcp"
set +e
wait $tpid
rc=$?
set -e
tpid=
[[ $rc == 0 ]] || fail "trigd exited $rc"
echo PASS
