#!/usr/bin/env bash
# Verification page throughput against the app's own `/` route (issue 14: >= 0.8 x `/`, p99 <= 10 ms):
# builds the release binary, starts it on a loopback port with a fresh SQLite data directory (or a
# fresh PostgreSQL database when ANJU_BENCH_DATABASE_URL names a server), seeds the demo town and
# one approved permit through the API, measures `/`, `/healthz` and the verification page with wrk
# (64 connections) in one run, prints the figures and stops the server.
#
# Usage: benches/verify_throughput.sh [seconds per route, default 15]
#        ANJU_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres benches/verify_throughput.sh
# Needs: wrk, curl, python3 (apt-get install -y wrk), psql for PostgreSQL.
set -euo pipefail

DURATION="${1:-15}"
PORT="${ANJU_BENCH_PORT:-18471}"
BASE="http://127.0.0.1:${PORT}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$(mktemp -d /tmp/anju-bench.XXXXXX)"
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "verify_throughput: $tool is not installed" >&2; exit 2; }
done

echo "== building release binary"
# Built as the benchmarks build it (same features), so `cargo bench` and this share one build.
(cd "$ROOT" && cargo bench --bench certificate --no-run --quiet)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/anju"

DB_URL=""
PG_URL="${ANJU_BENCH_DATABASE_URL:-}"
if [[ -n "$PG_URL" ]]; then
    PG_DB="anju_verify_bench"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
    DB_URL="${PG_URL%/*}/$PG_DB"
fi

echo "== starting server on $BASE (data in $DATA)"
ANJU_DATA_DIR="$DATA" \
ANJU_PUBLIC_URL="$BASE" \
ANJU_PUBLIC_RATE_PER_MINUTE=1000000000 \
ANJU_SCHEDULER=false \
ANJU_DATABASE_URL="$DB_URL" \
ROCKET_ADDRESS=127.0.0.1 \
ROCKET_PORT="$PORT" \
ROCKET_LOG_LEVEL=critical \
RUST_LOG=error \
    "$BIN" serve --demo >"$DATA/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
    sleep 0.2
done
curl -fsS "$BASE/healthz" >/dev/null

echo "== seeding one approved permit"
QR_URL="$(BASE="$BASE" DB="$DATA/anju.db" DB_URL="$DB_URL" python3 - <<'PY'
import json, os, sqlite3, struct, subprocess, urllib.request, zlib

base = os.environ["BASE"]

def call(method, path, body=None, token=None, raw=None, ctype="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")

def login(phone):
    return call("POST", "/auth/login", {"phone": phone, "password": "anju-demo"})["token"]

def png():
    w = h = 16
    rows = b"".join(b"\x00" + b"".join(bytes([(x * 16) % 256, (y * 16) % 256, 120]) for x in range(w)) for y in range(h))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

landlord = login("13900000004")
village = next(v for v in call("GET", "/villages", token=landlord) if v["code"] == "JX")
house = call("POST", "/properties", {
    "village_id": village["id"], "grid_id": village["grids"][0]["id"],
    "address": "锦绣村东区 12 号", "floors": 3, "structure": "brick_concrete",
    "rooms": [{"label": "101", "floor": 1, "area_m2": 14, "kind": "bedroom"},
              {"label": "102", "floor": 1, "area_m2": 12.5, "kind": "bedroom"},
              {"label": "厨房", "floor": 1, "area_m2": 8, "kind": "kitchen"}]}, landlord)
app = call("POST", "/applications", {"property_id": house["id"]}, landlord)
boundary = "anjubenchboundary"
for kind in ["ownership_proof", "house_photo"]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + png() + f"\r\n--{boundary}--\r\n".encode()
    photo = call("POST", "/photos", raw=body, token=landlord,
                 ctype=f"multipart/form-data; boundary={boundary}")
    call("POST", f"/applications/{app['id']}/documents", {"kind": kind, "photo_id": photo["id"]}, landlord)
call("POST", f"/applications/{app['id']}/submit", {"pledge_accepted": True, "owner_name": "王房东",
     "ownership_doc_no": "浙(2020)花街镇不动产权第0001234号"}, landlord)
# Inspections (issue 3) are out of this benchmark's scope: mark the application passed directly.
marks = [f"UPDATE applications SET status = 'passed' WHERE id = {int(app['id'])}",
         f"UPDATE properties SET grade = 'green' WHERE id = {int(house['id'])}"]
if os.environ["DB_URL"]:
    for sql in marks:
        subprocess.run(["psql", os.environ["DB_URL"], "-qc", sql], check=True)
else:
    db = sqlite3.connect(os.environ["DB"])
    for sql in marks:
        db.execute(sql)
    db.commit()
    db.close()
official = login("13900000002")
permit = call("POST", f"/applications/{app['id']}/approve", {}, official)
print(permit["qr_url"])
PY
)"
VERIFY_PATH="${QR_URL#"$BASE"}"
echo "   permit URL: $QR_URL"
curl -fsS "$BASE$VERIFY_PATH" | grep -q "真实有效" || { echo "verification page is not showing the permit" >&2; exit 1; }

run_wrk() {
    # Warm up briefly, then measure.
    wrk -t2 -c64 -d2s "$1" >/dev/null
    wrk -t2 -c64 -d"${DURATION}s" --latency "$1"
}

echo "== the app's own route: GET /"
ROOT_OUT="$(run_wrk "$BASE/")"
echo "$ROOT_OUT"
echo "== static route: GET /healthz"
STATIC_OUT="$(run_wrk "$BASE/healthz")"
echo "$STATIC_OUT"
echo "== verification page: GET $VERIFY_PATH"
VERIFY_OUT="$(run_wrk "$BASE$VERIFY_PATH")"
echo "$VERIFY_OUT"

ROOT_OUT="$ROOT_OUT" STATIC_OUT="$STATIC_OUT" VERIFY_OUT="$VERIFY_OUT" DB_KIND="${PG_URL:+PostgreSQL}" python3 - <<'PY'
import os, re

def parse(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(errors.group(1)) if errors else 0

r_rps, r_p99, r_err = parse(os.environ["ROOT_OUT"])
s_rps, s_p99, s_err = parse(os.environ["STATIC_OUT"])
v_rps, v_p99, v_err = parse(os.environ["VERIFY_OUT"])
ratio = v_rps / r_rps if r_rps else 0.0
print(f"== summary (64 connections, {os.environ.get('DB_KIND') or 'SQLite'})")
print(f"root    /        : {r_rps:10.0f} req/s   p99 {r_p99:7.2f} ms   non-2xx/3xx {r_err}")
print(f"static  /healthz : {s_rps:10.0f} req/s   p99 {s_p99:7.2f} ms   non-2xx/3xx {s_err}")
print(f"verify  /p/{{n}}  : {v_rps:10.0f} req/s   p99 {v_p99:7.2f} ms   non-2xx/3xx {v_err}")
print(f"ratio            : {ratio * 100:5.1f} % of / (target >= 80 %), p99 target <= 10 ms")
print("result           :", "PASS" if ratio >= 0.8 and v_p99 <= 10 and v_err == 0 else "BELOW TARGET")
PY
