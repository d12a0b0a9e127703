# One entry point for set-up, running, tests and benchmarks. Build caches live outside the clone
# ($MYELIN_CACHE, default ~/.cache/myelin): see scripts/env.sh.
SHELL := /bin/bash
ENV := source scripts/env.sh &&

.PHONY: setup build install release run test test-rust test-e2e lint bench clean

BIN_DIR := $${CARGO_HOME:-$$HOME/.cargo}/bin

setup:
	scripts/setup

build: setup
	scripts/build.sh dev

## An optimised, stripped `myelin` with the site inside (its size is printed).
release: setup
	scripts/build.sh release

## `myelin` on PATH (~/.cargo/bin): the optimised build, which works from any directory.
install: release
	$(ENV) install -D -m 0755 "$$CARGO_TARGET_DIR/release/myelin" "$(BIN_DIR)/myelin"
	@echo "installed $(BIN_DIR)/myelin: $$($(BIN_DIR)/myelin --version)"

## Set up, build, put `myelin` on PATH and serve on 127.0.0.1:8000 (SQLite + local executor under ./.myelin/).
## The development build: it reads the site from the build cache instead of carrying it (`make install` for that).
run: build
	$(ENV) install -D -m 0755 "$$CARGO_TARGET_DIR/debug/myelin" "$(BIN_DIR)/myelin"
	"$(BIN_DIR)/myelin" serve

## Every test: formatting, lints, Rust unit + integration tests on SQLite and PostgreSQL, the wasm build,
## and the browser journeys.
test: setup
	scripts/test

lint:
	$(ENV) cargo fmt --all --check && cargo clippy --all-targets -- -D warnings

## The benchmarks with their peers (Polyaxon's compiler, MLflow's server) as one table (scripts/bench/table).
bench: setup
	scripts/bench/table

clean:
	$(ENV) rm -rf "$$CARGO_TARGET_DIR"
