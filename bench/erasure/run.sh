#!/usr/bin/env bash
# Retention-sweep erasure throughput: N full candidate stories (2 years old, all due), erased by
# RetentionSweeper.RunOnceAsync (a transaction per batch of set-based statements, locks, an audit event per candidate) with
# 1 and with P batches at a time, next to the same UPDATEs and DELETEs as set-based SQL run by psql on an identical copy of the data, same run.
# Needs the services running (scripts/services.sh --profile test start).
# Usage: bench/erasure/run.sh [N] [BATCH] [P]   (defaults 2000, 500, 4: the worker's Retention:BatchSize and Parallelism)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-2000}" batch="${2:-500}" par="${3:-4}"
[[ "$n" =~ ^[0-9]+$ && "$batch" =~ ^[0-9]+$ && "$par" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 100000 && "$batch" -ge 1 && "$par" -ge 1 ]] \
  || { echo "usage: run.sh [N 1..100000] [BATCH >= 1] [P >= 1]" >&2; exit 2; }
profile="${FEEDBACKHUB_PROFILE:-test}"
services="${FEEDBACKHUB_SERVICES_SCRIPT:-$root/scripts/services.sh}" # the script of the checkout whose services run
eval "$("$services" --profile "$profile" env)"
export FEEDBACKHUB_PG

pg_host="$(sed -E 's/.*Host=([^;]+).*/\1/' <<<"$FEEDBACKHUB_PG")"
pg_port="$(sed -E 's/.*Port=([^;]+).*/\1/' <<<"$FEEDBACKHUB_PG")"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
PSQL="${PG_BIN:+$PG_BIN/psql}"; [[ -x "${PSQL:-}" ]] || PSQL="$(command -v psql)"
psql_db() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U postgres -d "$@"; }

one="feedbackhub_erasure_bench_p1" many="feedbackhub_erasure_bench_pn" sql="feedbackhub_erasure_bench_sql"
dotnet build -c Release "$here/ErasureBench" -nologo -v q >/dev/null
bench=(dotnet "$here/ErasureBench/bin/Release/net10.0/ErasureBench.dll")
trap '"${bench[@]}" drop "$one" "$many" "$sql" >/dev/null 2>&1 || true' EXIT

stamp="$(date -u +%Y-%m-%dT%H%MZ)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "[bench] preparing $n stories in $one and copies in $many, $sql" >&2
"${bench[@]}" prepare "$n" "$one" "$many" "$sql"

rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
check() {
  local erased left
  erased="$("${bench[@]}" count "$1")"
  left="$(psql_db "$1" -tA -c "SELECT count(*) FROM candidates WHERE email LIKE 'bench-%' OR first_name LIKE 'Benchname%'")"
  [[ "$erased" == "$n" && "$left" == "0" ]] || { echo "[bench] $1: $erased erased, $left still personal (expected $n, 0)" >&2; exit 1; }
}

echo "[bench] retention sweep, batch $batch, 1 at a time, on $one" >&2
one_s="$("${bench[@]}" sweep "$one" "$batch" 1)"; check "$one"
echo "[bench] retention sweep, batch $batch, $par at a time, on $many" >&2
many_s="$("${bench[@]}" sweep "$many" "$batch" "$par")"; check "$many"
echo "[bench] set-based SQL (psql) on $sql" >&2
t0="$(date +%s.%N)"
psql_db "$sql" -f "$here/baseline.sql" >/dev/null
t1="$(date +%s.%N)"
sql_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"; check "$sql"

sql_rate="$(rate "$sql_s")"
ratio() { awk -v a="$(rate "$1")" -v b="$sql_rate" 'BEGIN { printf "%.3f", a / b }'; }
mkdir -p "$here/results"
{
  echo "# Erasure benchmark, $stamp"
  echo
  echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); .NET SDK $(dotnet --version); PostgreSQL on the same cores"
  echo "- load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- N = $n candidates, each with application, feedback, request, link, delivery + attempt, invitation, suppression entry, outbox row; all due"
  echo
  echo "| erasure | seconds | candidates/s | ratio to SQL |"
  echo "|---|---:|---:|---:|"
  echo "| RetentionSweeper.RunOnceAsync, batch $batch, 1 batch at a time (transaction per batch, set-based, audited) | $one_s | $(rate "$one_s") | $(ratio "$one_s") |"
  echo "| RetentionSweeper.RunOnceAsync, batch $batch, $par batches at a time | $many_s | $(rate "$many_s") | $(ratio "$many_s") |"
  echo "| set-based SQL, one psql transaction (no audit events, no per-candidate locks) | $sql_s | $sql_rate | 1.000 |"
  echo
  echo "BENCH erasure ratio=$(ratio "$many_s") p99_ms=n/a" # a sweep has no per-candidate latency to report
} | tee "$here/results/$stamp.md"
