# Sourced by the other scripts: where tools and build caches live (outside the clone, so a fresh clone
# reuses them; everything still works when they are empty).
export MYELIN_CACHE="${MYELIN_CACHE:-$HOME/.cache/myelin}"
export MYELIN_TOOLS="$MYELIN_CACHE/tools"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MYELIN_CACHE/target}"
export PATH="$MYELIN_TOOLS/node_modules/.bin:$MYELIN_TOOLS/bin:$MYELIN_TOOLS/go/bin:$HOME/.cargo/bin:$PATH"
export MYELIN_TEST_DATABASE_URL="${MYELIN_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
# The wasm-bindgen CLI must equal the crate version in Cargo.lock.
wasm_bindgen_version() { awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$(dirname "${BASH_SOURCE[0]}")/../Cargo.lock"; }
# The real `mlflow` client (pinned, scripts/requirements-mlflow.txt) and a real S3-compatible server for tests.
export MYELIN_MLFLOW_PYTHON="${MYELIN_MLFLOW_PYTHON:-$MYELIN_TOOLS/mlflow-venv/bin/python}"
export MYELIN_S3_SERVER="${MYELIN_S3_SERVER:-$MYELIN_TOOLS/bin/s3s-fs}"
