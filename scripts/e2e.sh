#!/usr/bin/env bash
# Starts a fresh `myelin serve` (SQLite in a temp data dir, a free port) and runs the browser journeys
# (@playwright/test, end2end/playwright.config.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bin="$CARGO_TARGET_DIR/${MYELIN_PROFILE:-debug}/myelin"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# From another directory, with the site the binary carries (a debug build reads it from the build cache); the
# Kubernetes server below uses the --site-root override.
(cd "$data" && exec "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$data/serve.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/v1/openapi.json" >/dev/null && break; sleep 0.1; done

# With the test control plane up (scripts/test), a second server runs the Kubernetes executor in its own
# namespace, as the least-privilege identity of deploy/kubernetes (role.yaml in its namespace, clusterrole.yaml), next to one tainted 8-GPU node.
k8s_env=()
k8s_dir="${MYELIN_K8S_DIR:-}"
if [ -n "$k8s_dir" ] && [ -f "$k8s_dir/dispatcher.kc" ]; then
  api=$(sed -n 's/.*server: "\(.*\)".*/\1/p' "$k8s_dir/admin.kc")
  kc() { curl -s --cacert "$k8s_dir/ca.crt" -H "Authorization: Bearer admin-tok" "$@" >/dev/null; }
  ns="e2e-$(date +%s)"
  who='"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"myelin-dispatcher"}]'
  kc -H "Content-Type: application/yaml" --data-binary @deploy/kubernetes/clusterrole.yaml "$api/apis/rbac.authorization.k8s.io/v1/clusterroles"
  kc -H "Content-Type: application/json" "$api/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" -d '{"metadata":{"name":"myelin-executor-read"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"myelin-executor-read"},'"$who"'}'
  kc -H "Content-Type: application/json" "$api/api/v1/namespaces" -d "{\"metadata\":{\"name\":\"$ns\"}}"
  kc -H "Content-Type: application/yaml" --data-binary @deploy/kubernetes/role.yaml "$api/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles"
  kc -H "Content-Type: application/json" "$api/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings" -d '{"metadata":{"name":"myelin-executor"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"myelin-executor"},'"$who"'}'

  gpu='{"cpu":"32","memory":"128Gi","pods":"110","nvidia.com/gpu":"8"}'
  kc -H "Content-Type: application/json" "$api/api/v1/nodes" -d "{\"metadata\":{\"name\":\"$ns-gpu\"},\"spec\":{\"taints\":[{\"key\":\"nvidia.com/gpu\",\"value\":\"present\",\"effect\":\"NoSchedule\"}]},\"status\":{\"capacity\":$gpu,\"allocatable\":$gpu,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"e2e\"}]}}"
  kdata=$(mktemp -d)
  kport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  KUBECONFIG="$k8s_dir/dispatcher.kc" "$bin" serve --data-dir "$kdata" --listen "127.0.0.1:$kport" \
    --site-root "$CARGO_TARGET_DIR/site" --executor kubernetes --namespace "$ns" >"$kdata/serve.log" 2>&1 &
  kserver=$!
  trap 'kill $server $kserver 2>/dev/null || true; kc -X DELETE "$api/api/v1/namespaces/$ns"; kc -X DELETE "$api/api/v1/nodes/$ns-gpu"; rm -rf "$data" "$kdata"' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$kport/api/v1/openapi.json" >/dev/null && break; sleep 0.1; done
  k8s_env=(MYELIN_E2E_K8S_URL="http://127.0.0.1:$kport")
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but no control plane for the Kubernetes journeys (MYELIN_K8S_DIR)" >&2; exit 1
fi

status=0
# One file per area (end2end/tests); traces and screenshots of failed journeys go to end2end/artifacts/.
report="$data/journeys.log"
(cd end2end && env "${k8s_env[@]}" MYELIN_E2E_URL="http://127.0.0.1:$port" npx --no-install playwright test "$@") 2>&1 |
  tee "$report" || status=$?
show() { grep -m3 -A12 "panicked at" "$1" || true; echo "..."; tail -30 "$1"; }
[ $status -eq 0 ] || { echo "--- server log"; show "$data/serve.log"; [ -n "${kdata:-}" ] && { echo "--- kubernetes server log"; show "$kdata/serve.log"; }; }
# Last, so a log cut to its tail still names them: journeys that failed, and those that passed only when retried.
if grep -qE '^\s+[0-9]+ (failed|flaky)' "$report"; then
  echo "--- journeys that failed or were flaky (end2end/artifacts/results has their traces)"
  grep -m1 -A20 '^  1) ' "$report" || true
  sed -n '/^ *[0-9]* \(failed\|flaky\)$/,/ passed /p' "$report"
fi
exit $status
