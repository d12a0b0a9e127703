# One entry point for set-up, running, tests and benchmarks. Build caches live outside the clone
# ($MYELIN_CACHE, default ~/.cache/myelin): see scripts/env.sh.
SHELL := /bin/bash
ENV := source scripts/env.sh &&

.PHONY: setup build run test test-rust test-e2e lint bench clean

setup:
	scripts/setup

build: setup
	scripts/build.sh dev

## Set up, build and serve on 127.0.0.1:8000 (SQLite + local executor under ./.myelin/).
run: build
	$(ENV) "$$CARGO_TARGET_DIR/debug/myelin" serve --site-root "$$CARGO_TARGET_DIR/site"

## Every test: formatting, lints, Rust unit + integration tests on SQLite and PostgreSQL, the wasm build,
## and the browser journeys.
test: setup
	scripts/test

lint:
	$(ENV) cargo fmt --all --check && cargo clippy --all-targets -- -D warnings

bench: setup
	$(ENV) cargo bench -p app --bench projects_page

clean:
	$(ENV) rm -rf "$$CARGO_TARGET_DIR"
