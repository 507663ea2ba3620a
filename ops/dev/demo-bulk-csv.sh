#!/usr/bin/env bash
# Prints a bulk-scheduling CSV for the demo tenant (docs/SCHEDULING.md, "Bulk scheduling"):
# ROWS rows (default 500) that cycle through the demo's active clients and its providers, for
# the "Medication follow-up (30 min)" video type, within the next WINDOW_DAYS days (default 60),
# with a preferred-times column left empty. Reads the clients and providers through the API as
# the given user, so it needs a running `swiftacare serve --demo`.
#
#   ops/dev/demo-bulk-csv.sh admin@demo.swiftacare.test '<password>' > /tmp/bulk.csv
#
# Env: SWIFTACARE_URL (default http://127.0.0.1:8080), ROWS, WINDOW_DAYS, TYPE.
set -euo pipefail

email="${1:?usage: $0 <email> <password>}"
password="${2:?usage: $0 <email> <password>}"
base="${SWIFTACARE_URL:-http://127.0.0.1:8080}"
rows="${ROWS:-500}"
window="${WINDOW_DAYS:-60}"
type_name="${TYPE:-Medication follow-up (30 min)}"

token="$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'X-Tenant: demo' \
  -H 'Content-Type: application/json' \
  --data "$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$email" "$password")" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

people() {
  curl -fsS "$base/api/v1/people?kind=$1&limit=100" -H 'X-Tenant: demo' \
    -H "Authorization: Bearer $token"
}

python3 - "$rows" "$window" "$type_name" <(people client) <(people provider) <<'PY'
import csv, datetime, json, sys

rows, window, type_name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
clients = [p for p in json.load(open(sys.argv[4]))["items"] if p.get("status") == "active" and p.get("email")]
providers = [p for p in json.load(open(sys.argv[5]))["items"] if p.get("status") == "active"]
if not clients or not providers:
    sys.exit("demo-bulk-csv: the demo tenant has no active clients or providers")
today = datetime.date.today()
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["client_email", "provider_id", "type", "window_from", "window_until", "preferred_times"])
for i in range(rows):
    w.writerow([
        clients[i % len(clients)]["email"],
        providers[(i // len(clients)) % len(providers)]["id"],
        type_name,
        (today + datetime.timedelta(days=1)).isoformat(),
        (today + datetime.timedelta(days=window)).isoformat(),
        "",
    ])
PY
