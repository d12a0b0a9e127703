#!/usr/bin/env bash
# Resident memory of an idle `myelin serve` (fresh SQLite data dir), 3 s after start.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
bin="$CARGO_TARGET_DIR/${1:-release}/myelin"
data=$(mktemp -d)
"$bin" serve --data-dir "$data" --listen 127.0.0.1:0 >/dev/null 2>&1 &   # `make release`: the site is inside
pid=$!
sleep 3
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$data"
echo "idle RSS of myelin serve ($bin): $((rss / 1024)) MiB"
