# Swiftacare — the two commands a newcomer needs:
#   make run    build, start with the embedded default, seed the demo once, print sign-ins
#   make test   everything CI checks: services, fmt, clippy, all tests
#
# Build output goes outside the clone so repeated runs (and CI) reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/swiftacare/target
CARGO ?= cargo

.PHONY: run test services fmt-check clippy nextest openapi bench-b6 bench-b1 bench-b2 bench-b3 bench-scheduling clean-data

run:
	$(CARGO) build -p swiftacare
	$(CARGO_TARGET_DIR)/debug/swiftacare serve --demo

test: services fmt-check clippy nextest

services:
	./ops/dev/ensure-services.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

nextest:
	$(CARGO) nextest run --workspace --locked --no-fail-fast

# Rewrite openapi/swiftacare.json from the code (then commit it).
openapi:
	SWIFTACARE_UPDATE_OPENAPI=1 $(CARGO) nextest run -p swiftacare --test integration committed_openapi

# QUALITY B6: tenants 1 -> 1,000, create / migrate / request latency ratios (see ops/bench/README.md).
bench-b6: services
	$(CARGO) bench -p swiftacare --bench b6_tenants

# QUALITY B1-B3: booking throughput vs pgbench, exclusion-constraint insert cost, slot search
# latency vs the in-memory floor (see ops/bench/README.md). Options after `--`, e.g.
# `cargo bench -p swiftacare --bench scheduling -- b1 --secs 5`.
bench-b1: services
	$(CARGO) bench -p swiftacare --bench scheduling -- b1

bench-b2: services
	$(CARGO) bench -p swiftacare --bench scheduling -- b2

bench-b3: services
	$(CARGO) bench -p swiftacare --bench scheduling -- b3

bench-scheduling: services
	$(CARGO) bench -p swiftacare --bench scheduling -- all

# Forget the embedded database and demo (stops nothing: stop `make run` first).
clean-data:
	rm -rf .swiftacare
