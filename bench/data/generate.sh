#!/usr/bin/env bash
# Bulk applications for one tenant, straight into PostgreSQL (set-based SQL in generate.sql; about 10 s per 100,000).
#
#   bench/data/generate.sh --db NAME --applications N [--tenant "Acme Robotics"] [--in-flight 500] [--prefix gen]
#                          [--host 127.0.0.1] [--port 26432] [--user postgres]
#
# The tenant must exist with the demo people and the published example templates (FeedbackHub.Api.dll seed-demo).
# Each application gets a candidate; 90% have feedback; the --in-flight newest (last 14 days) are drafts, submitted,
# changes requested or approved, 40% of them with a candidate request waiting for its email; the rest is history:
# approved, and 30% asked for feedback and were sent it (outbound + deliveries rows). The demo interviewer is one of
# the 10 people writing the in-flight feedback. Ids are derived from (tenant, prefix, row), so a rerun adds only what
# is missing: run it with 1,000, then 10,000, then 100,000 to grow one database. Ends with ANALYZE.
set -euo pipefail
DB="" N="" TENANT="Acme Robotics" INFLIGHT=500 PREFIX=gen HOST=127.0.0.1 PORT="${PGPORT:-26432}" USER_="postgres"
while (($#)); do
  case "$1" in
    --db) DB="$2"; shift 2 ;;
    --applications) N="$2"; shift 2 ;;
    --tenant) TENANT="$2"; shift 2 ;;
    --in-flight) INFLIGHT="$2"; shift 2 ;;
    --prefix) PREFIX="$2"; shift 2 ;;
    --host) HOST="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --user) USER_="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "generate.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$DB" ]] || { echo "generate.sh: --db is required" >&2; exit 2; }
[[ "$N" =~ ^[0-9]+$ && "$INFLIGHT" =~ ^[0-9]+$ ]] || { echo "generate.sh: --applications and --in-flight must be whole numbers" >&2; exit 2; }
[[ "$PREFIX" =~ ^[a-z0-9-]+$ ]] || { echo "generate.sh: --prefix: lower-case letters, digits and dashes" >&2; exit 2; }
PSQL="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"
[[ -x "$PSQL" ]] || PSQL="$(command -v psql)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=$(date +%s%N)
"$PSQL" -X -q -h "$HOST" -p "$PORT" -U "$USER_" -d "$DB" -tA -v ON_ERROR_STOP=1 \
  -v tenant="$TENANT" -v n="$N" -v inflight="$INFLIGHT" -v prefix="$PREFIX" -f "$HERE/generate.sql"
echo "generate.sh: done in $(( ($(date +%s%N) - started) / 1000000 )) ms"
