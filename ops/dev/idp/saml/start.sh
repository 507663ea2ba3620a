#!/usr/bin/env bash
# Starts SimpleSAMLphp (Debian's package) as a SAML 2.0 IdP on loopback with PHP's built-in
# server, in the foreground:   ops/dev/idp/saml/start.sh RUN_DIR [PORT]
# RUN_DIR gets the IdP's signing key pair (made once), sessions, logs and sp/*.json (the SPs it
# trusts). Metadata: http://127.0.0.1:PORT/saml2/idp/metadata.php
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run=${1:?usage: start.sh RUN_DIR [PORT]}
port=${2:-9500}
mkdir -p "$run/cert" "$run/log" "$run/tmp" "$run/sp" "$run/config"
run=$(cd "$run" && pwd)
if [ ! -s "$run/cert/idp.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=swiftacare-local-idp" \
    -keyout "$run/cert/idp.key" -out "$run/cert/idp.crt" 2>/dev/null
fi
# SimpleSAMLphp reads config.php and authsources.php from one directory.
cp "$here/config.php" "$here/authsources.php" "$run/config/"
sed -i "s#__DIR__ . '/metadata/'#'$here/metadata/'#g" "$run/config/config.php"
export SIMPLESAMLPHP_CONFIG_DIR="$run/config" SWIFTACARE_IDP_DIR="$run"
export SWIFTACARE_IDP_BASEURL="http://127.0.0.1:$port"
exec php -S "127.0.0.1:$port" -t /usr/share/simplesamlphp/www
