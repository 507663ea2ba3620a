#!/usr/bin/env bash
# Makes sure the services the tests use are installed and running on loopback.
# Idempotent; safe to run on every `make test`. Needs root (or sudo) only to install/start.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL (server + psql client, used by the tests to create/drop databases) ---
if ! command -v psql >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "ensure-services: installing PostgreSQL"
  apt_install postgresql postgresql-client
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "ensure-services: starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
# The tests connect as `postgres` over TCP without a password (trust on loopback, as on the
# dev and CI machines). Say so clearly if this server asks for one.
if ! psql "${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -qAtc 'select 1' >/dev/null 2>&1; then
  echo "Cannot connect to ${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}." >&2
  echo "Set TEST_DATABASE_URL to a superuser URL the tests may use to create and drop databases." >&2
  exit 1
fi

# --- Redis (sign-in throttling counters; the Redis tests use redis-cli) ---
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "ensure-services: installing Redis"
  apt_install redis-server redis-tools
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure-services: starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }

# --- RabbitMQ (the job tests use their own vhost each, made and deleted with rabbitmqctl) ---
if ! command -v rabbitmqctl >/dev/null; then
  echo "ensure-services: installing RabbitMQ"
  apt_install rabbitmq-server
fi
if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
  echo "ensure-services: starting RabbitMQ"
  as_root rabbitmq-server -detached
  for _ in $(seq 1 60); do as_root rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done
fi
as_root rabbitmqctl -q await_startup >/dev/null 2>&1 || { echo "RabbitMQ is not running" >&2; exit 1; }
# A node stopped with `rabbitmqctl stop_app` (by a fault test that was interrupted) is restarted.
as_root rabbitmqctl -q start_app >/dev/null 2>&1 || true

# --- aiosmtpd (the real SMTP server the mail tests start) ---
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "ensure-services: installing aiosmtpd"
  python3 -m pip install --quiet aiosmtpd
fi

# --- Node.js 20+ (builds and tests the web app) ---
node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ] || ! command -v npm >/dev/null; then
  echo "ensure-services: installing Node.js"
  apt_install nodejs npm || true
fi
if [ "$(node_major)" -lt 20 ]; then
  echo "Node.js 20 or newer is needed for web/ (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from https://github.com/nodesource/distributions or with nvm, then rerun." >&2
  exit 1
fi

# --- SSO: build libraries for samael (xmlsec) and the real identity providers the SSO tests start ---
# samael's xmlsec feature links libxmlsec1/libxml2 (bindgen needs clang); SimpleSAMLphp runs under
# PHP's built-in server (php-xml for its XML, php-mbstring); faketime shifts an IdP's clock to
# produce genuinely expired assertions.
sso_pkgs=()
for p in libxmlsec1-dev libxml2-dev pkg-config clang libclang-dev simplesamlphp php-cli php-xml \
         php-mbstring faketime; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || sso_pkgs+=("$p")
done
if [ ${#sso_pkgs[@]} -gt 0 ]; then
  echo "ensure-services: installing ${sso_pkgs[*]}"
  apt_install "${sso_pkgs[@]}"
fi
# oidc-provider (npm), pinned by ops/dev/idp/oidc/package-lock.json.
oidc_dir="$(cd "$(dirname "$0")" && pwd)/idp/oidc"
if [ ! -f "$oidc_dir/node_modules/.package-lock.json" ] \
   || [ "$oidc_dir/package-lock.json" -nt "$oidc_dir/node_modules/.package-lock.json" ]; then
  echo "ensure-services: npm ci (oidc-provider)"
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- Chromium (the web app's end-to-end tests drive it through playwright-core) ---
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "ensure-services: installing Chromium"
  apt_install chromium
fi

# --- cargo-nextest (the test runner) ---
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "ensure-services: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
echo "ensure-services: PostgreSQL (127.0.0.1:5432), Redis (127.0.0.1:6379), RabbitMQ (127.0.0.1:5672), aiosmtpd, SSO IdPs (oidc-provider, SimpleSAMLphp), Node.js, Chromium and cargo-nextest ready"
