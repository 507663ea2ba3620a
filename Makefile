# Swiftacare — the two commands a newcomer needs:
#   make run    build (server and web app), start with the embedded default, seed the demo once,
#               print sign-ins
#   make test   everything CI checks: services, fmt, clippy, all tests, the web app's checks and
#               its end-to-end run in Chromium
#
# Build output goes outside the clone so repeated runs (and CI) reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/swiftacare/target
CARGO ?= cargo

.PHONY: run test services fmt-check clippy nextest openapi bench-b6 bench-b1 bench-b2 bench-b3 \
	bench-scheduling bench-b4 bench-b8 bench-jobs clean-data web web-deps web-check web-e2e web-test web-client

NPM ?= npm
export NEXT_TELEMETRY_DISABLED = 1

# Builds the web app too when Node.js is installed; without it the server still runs (API
# only, with a plain-text page at /).
run:
	$(CARGO) build -p swiftacare
	@if command -v $(NPM) >/dev/null 2>&1; then $(MAKE) --no-print-directory web; \
	else echo "make run: npm not found, so the web app is not built (see README.md)"; fi
	$(CARGO_TARGET_DIR)/debug/swiftacare serve --demo

test: services fmt-check clippy nextest web-test

services:
	./ops/dev/ensure-services.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

nextest:
	$(CARGO) nextest run --workspace --locked --no-fail-fast

# Rewrite openapi/swiftacare.json from the code (then commit it), and the web client with it.
openapi:
	SWIFTACARE_UPDATE_OPENAPI=1 $(CARGO) nextest run -p swiftacare --test integration committed_openapi
	$(MAKE) --no-print-directory web-client

# --- Web app (web/, docs/WEB.md) ---

# Installs web/node_modules from the lock file when it is missing or older than the lock.
web-deps: web/node_modules/.package-lock.json
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@

# The static export in web/out, which `swiftacare serve` serves at /.
web: web-deps
	cd web && $(NPM) run build

# Regenerates the typed client (web/src/api/generated) from openapi/*.json.
web-client: web-deps
	cd web && $(NPM) run gen

# Fast checks: generated client up to date with openapi/, lint, types, component tests.
web-check: web-deps
	cd web && node scripts/complete-lock.mjs --check && $(NPM) run gen:check && $(NPM) run lint \
		&& $(NPM) run typecheck && $(NPM) test

# End to end: the real binary, a fresh database, Chromium (screenshots in web/e2e-artifacts/).
web-e2e: web
	$(CARGO) build -p swiftacare --locked
	cd web && SWIFTACARE_BIN=$(CARGO_TARGET_DIR)/debug/swiftacare $(NPM) run e2e

web-test: web-check web-e2e

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

# QUALITY B4, B8: bulk scheduling end to end vs COPY of the same rows; outbox relay publishing
# with confirms vs a bare lapin loop (see ops/bench/README.md). B4 at the QUALITY size:
# `cargo bench -p swiftacare --bench scheduling -- b4 --rows 10000`.
bench-b4: services
	$(CARGO) bench -p swiftacare --bench scheduling -- b4

bench-b8: services
	$(CARGO) bench -p swiftacare --bench scheduling -- b8

bench-jobs: services
	$(CARGO) bench -p swiftacare --bench scheduling -- jobs

# Forget the embedded database and demo (stops nothing: stop `make run` first).
clean-data:
	rm -rf .swiftacare
