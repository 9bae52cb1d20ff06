#!/usr/bin/env bash
# trigctl show on a simulated run with an injected high-energy event: the PNG is valid, has the
# expected size, shows signal where the event is and draws the truth box; bad arguments fail.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?}/tools/trigctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" sim -o "$tmp/run.h5" --cells 1 --channels 256 --seconds 0.006 --seed 11 \
    --inject 0:he:800:0.002 >/dev/null 2>&1
"$bin" show "$tmp/run.h5" --from 0.001 --to 0.004 --planes UVX -o "$tmp/evt.png" --width 900 | tee "$tmp/out"
grep -q "3 panels" "$tmp/out"
grep -q "1 boxes" "$tmp/out"

/usr/bin/python3 - "$tmp/evt.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert (depth, ctype) == (8, 2), "want 8-bit RGB"
    if kind == b"IDAT":
        idat += body
    pos += 12 + n
assert w == 900, w
raw = zlib.decompress(idat)
stride = w * 3 + 1
rows = []
prev = bytearray(w * 3)
for y in range(h):  # undo PNG filters
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for i in range(len(line)):
        a = line[i - 3] if i >= 3 else 0
        b = prev[i]
        c = prev[i - 3] if i >= 3 else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
# Bright yellow (signal at the top of the scale) and the cyan truth box must both be present.
yellow = sum(1 for r in rows for x in range(w) if r[3*x] > 200 and r[3*x+1] > 180 and r[3*x+2] < 90)
cyan = sum(1 for r in rows for x in range(w) if r[3*x] < 40 and r[3*x+1] > 200 and r[3*x+2] > 230)
assert yellow > 20, f"no signal drawn ({yellow} yellow pixels)"
assert cyan > 20, f"no truth box drawn ({cyan} cyan pixels)"
print(f"png ok: {w}x{h}, {yellow} signal pixels, {cyan} truth-box pixels")
PY

if "$bin" show "$tmp/run.h5" -o "$tmp/x.png" --from 0.003 --to 0.001 2>/dev/null; then
    echo "reversed window accepted" >&2; exit 1
fi
if "$bin" show "$tmp/run.h5" -o "$tmp/x.png" --cells 7 2>/dev/null; then
    echo "absent cell accepted" >&2; exit 1
fi
# A trigger record written by trigd: every cell's collection plane, the decision's candidates boxed.
trigd=${LARTRIG_BINARY_DIR}/daemon/trigd
"$trigd" --print-default-config | sed 's/high_energy_rate_hz = 1.0;/high_energy_rate_hz = 40.0;/;
    s/realtime_factor = 0.02/realtime_factor = 0/; s|output_dir = "."|output_dir = "'"$tmp"'"|' >"$tmp/t.conf"
(cd "$tmp" && timeout 120 "$trigd" -c t.conf --duration 0.1 >/dev/null 2>&1)
rec=$(ls "$tmp"/*.hdf5 | head -1)
"$bin" show "$rec" -o "$tmp/rec.png" | tee "$tmp/out"
grep -qE "4 panels, [1-9][0-9]* boxes" "$tmp/out"
echo "show: ok"
