#!/usr/bin/env bash
# Starts a fresh `myelin serve` (SQLite in a temp data dir, a free port) and runs the browser journeys.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bin="$CARGO_TARGET_DIR/${MYELIN_PROFILE:-debug}/myelin"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --site-root "$CARGO_TARGET_DIR/site" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/v1/openapi.json" >/dev/null && break; sleep 0.1; done
status=0
MYELIN_E2E_URL="http://127.0.0.1:$port" node end2end/e2e.mjs || status=$?
[ $status -eq 0 ] || { echo "--- server log"; tail -50 "$data/serve.log"; }
exit $status
