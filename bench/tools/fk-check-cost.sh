#!/usr/bin/env bash
# What one foreign-key check costs PostgreSQL per inserted row, in the audit sealer's shape: 100 transactions, each
# locking the parent row (FOR NO KEY UPDATE, as the sealer locks its tenant) and inserting 2,000 child rows in one
# statement, into a table with a foreign key to the parent and into the same table without it; three rounds, alternating.
# Needs the test services (scripts/services.sh --profile test start). Uses a throwaway database `fkbench`, dropped at the end.
# Usage: bench/tools/fk-check-cost.sh     (about 10 s; loopback only)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
eval "$("$root/scripts/services.sh" --profile test env)"
. "$root/bench/lib/test-services.sh"
port="$(pg_port_of "$FEEDBACKHUB_PG")"
psql_() { psql -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
trap 'psql_ -d postgres -c "DROP DATABASE IF EXISTS fkbench" >/dev/null 2>&1 || true; rm -f "$script"' EXIT
script="$(mktemp /tmp/fk-check-cost.XXXXXX.sql)"
psql_ -d postgres -c "DROP DATABASE IF EXISTS fkbench" -c "CREATE DATABASE fkbench" 2>/dev/null
psql_ -d fkbench <<'SQL'
CREATE TABLE tenants (id uuid PRIMARY KEY, name text);
INSERT INTO tenants VALUES ('00000000-0000-0000-0000-000000000001', 't');
CREATE TABLE nodes_with_key (tenant_id uuid NOT NULL REFERENCES tenants (id), level int, index bigint, hash bytea, PRIMARY KEY (tenant_id, level, index));
CREATE TABLE nodes_without_key (tenant_id uuid NOT NULL, level int, index bigint, hash bytea, PRIMARY KEY (tenant_id, level, index));
SQL
echo "| round | table | ms for 200,000 rows | ns per row |"
echo "|---|---|---:|---:|"
for round in 1 2 3; do
  for table in nodes_with_key nodes_without_key; do
    psql_ -d fkbench -c "TRUNCATE $table"
    cat >"$script" <<SQL
BEGIN;
SELECT id FROM tenants WHERE id = '00000000-0000-0000-0000-000000000001' FOR NO KEY UPDATE;
INSERT INTO $table SELECT '00000000-0000-0000-0000-000000000001', (random() * 1e9)::int, n, sha256(n::text::bytea) FROM generate_series(1, 2000) AS n ON CONFLICT DO NOTHING;
COMMIT;
SQL
    start=$(date +%s%N)
    pgbench -n -h 127.0.0.1 -p "$port" -U postgres -f "$script" -t 100 -c 1 fkbench >/dev/null
    end=$(date +%s%N)
    echo "| $round | $table | $(( (end - start) / 1000000 )) | $(( (end - start) / 200000 )) |"
  done
done
