#!/usr/bin/env bash
# HTTP benchmark of FeedbackHub's hottest write and read, next to pgbench running the same SQL.
#
#   bench/http/run.sh [--duration 20] [--rounds 3] [--connections 64] [--threads 2] [--warmup 30]
#                     [--rows-per-connection 16] [--extra-applications N]
#
# 1. test-profile services (scripts/services.sh --profile test): reused when PostgreSQL already answers on the
#    test port, otherwise started here and stopped again at the end. Never reset-smtp, never stop what was running.
# 2. database feedbackhub_bench on that PostgreSQL: dropped and created on every run, dropped at the end.
# 3. Release build, migrate, seed-demo; API on http://127.0.0.1:5090 (Production, warnings only). With
#    --extra-applications N, bench/data/generate.sh first adds N history applications (90% with approved feedback) to
#    the same tenant, so the measured rows sit among many (bench/http/flatness.sh compares 10,000 with 1,000,000).
# 4. data over HTTP: connections x rows-per-connection applications, each with a feedback draft of the published
#    "Software engineering interview" template.
# 5. save and get, each in --rounds rounds of wrk then pgbench with the same clients, back to back: wrk on
#    PUT /v1/feedback/{id}/answers next to pgbench's save.sql (the minimal save: the update and its audit event), wrk on
#    GET /v1/applications/{id} next to get.sql (the endpoint's SQL). Each round gives a ratio; the report and the BENCH
#    line give the round with the median ratio, so one slow or fast stretch of the machine does not decide the figure.
#    A wrk scenario warms up --warmup s before its first round and 5 s before the others. Before the first round the
#    database settles: audit events sealed, VACUUM (ANALYZE), CHECKPOINT (the writes before are not charged to either side).
# 6. once: wrk on GET /health/live (HTTP floor); pgbench save_api.sql (diagnostic: the SQL the API's save sends); pgbench
#    save.sql with as many clients as the API's pool (diagnostic: the database at the API's concurrency).
# 7. table on stdout and in bench/http/results/<date>.md. Loopback only; everything stops by itself.
# The API's connection string gets Maximum and Minimum Pool Size = 4 x the database's cores (docs/scaling.md), so its
# requests queue for a connection in the API and its pool keeps the connections it opened (bench/http/README.md, "A pool
# sized to the database"). A diagnostic runs pgbench's minimal save with that many clients too.
# Experiments: FEEDBACKHUB_BENCH_PG_OPTIONS is appended to the API's and the worker's connection string (for example
# 'Maximum Pool Size=16'; a pool size chosen there replaces the one above); the report's command line records it.
set -euo pipefail

DURATION=20 ROUNDS=3 CONNECTIONS=64 THREADS=2 WARMUP=30 ROWS_PER_CONN=16 EXTRA_APPS=0
ORIG_ARGS=("$@")
while (($#)); do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rows-per-connection) ROWS_PER_CONN="$2"; shift 2 ;;
    --extra-applications) EXTRA_APPS="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in DURATION ROUNDS CONNECTIONS THREADS WARMUP ROWS_PER_CONN EXTRA_APPS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number" >&2; exit 2; }
done
((DURATION >= 1 && DURATION <= 600)) || { echo "run.sh: --duration must be 1..600 s" >&2; exit 2; }
((ROUNDS >= 1 && ROUNDS <= 9)) || { echo "run.sh: --rounds must be 1..9" >&2; exit 2; }
((CONNECTIONS >= THREADS && CONNECTIONS <= 256)) || { echo "run.sh: --connections must be threads..256" >&2; exit 2; }
((ROWS_PER_CONN >= 1)) || { echo "run.sh: --rows-per-connection must be >= 1" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SERVICES="$REPO/scripts/services.sh"
PORT=5090
BASE="http://127.0.0.1:$PORT"
DB=feedbackhub_bench
ROWS=$((CONNECTIONS * ROWS_PER_CONN))
STAMP="$(date -u +%Y-%m-%dT%H%MZ)"
WORK="$(mktemp -d /tmp/feedbackhub-bench.XXXXXX)"
LOG="$WORK/logs"; mkdir -p "$LOG"
DLL="$REPO/src/Api/bin/Release/net10.0/FeedbackHub.Api.dll"
WORKER_DLL="$REPO/src/Worker/bin/Release/net10.0/FeedbackHub.Worker.dll"

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------------------------------------------------
# Tools
# ------------------------------------------------------------------------------------------------
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
PSQL="${PG_BIN:+$PG_BIN/psql}"; [[ -x "${PSQL:-}" ]] || PSQL="$(command -v psql || true)"
PGBENCH="${PG_BIN:+$PG_BIN/pgbench}"; [[ -x "${PGBENCH:-}" ]] || PGBENCH="$(command -v pgbench || true)"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
[[ -x "${PSQL:-}" && -x "${PGBENCH:-}" ]] || missing+=(postgresql postgresql-contrib)
if ((${#missing[@]})); then
  say "installing with apt: ${missing[*]}"
  as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -q >"$LOG/apt.log" 2>&1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$LOG/apt.log" 2>&1 ||
    { tail -n 30 "$LOG/apt.log" >&2; die "apt-get install failed"; }
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; PSQL="$PG_BIN/psql"; PGBENCH="$PG_BIN/pgbench"
fi
command -v dotnet >/dev/null || die "the .NET SDK is required (see docs/running-locally.md)"

# ------------------------------------------------------------------------------------------------
# Cleanup: the API we started, the bench database, services only if we started them
# ------------------------------------------------------------------------------------------------
WORKER_PID="" API_PID="" SAMPLER_PID=""
. "$REPO/bench/lib/test-services.sh"
. "$REPO/bench/lib/median.sh"
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null; fi
  if [[ -n "$WORKER_PID" ]] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill -TERM "$WORKER_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$WORKER_PID" 2>/dev/null && kill -KILL "$WORKER_PID" 2>/dev/null
    say "worker stopped"
  fi
  if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
    kill -TERM "$API_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$API_PID" 2>/dev/null && kill -KILL "$API_PID" 2>/dev/null
    say "API stopped"
  fi
  bench_release_test_services
  if ((rc != 0)); then say "FAILED (exit $rc); logs kept in $LOG"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
# 1. Services (test profile) and the bench database
# ------------------------------------------------------------------------------------------------
bench_use_test_services
PG_CONN="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$DB${FEEDBACKHUB_BENCH_PG_OPTIONS:+;$FEEDBACKHUB_BENCH_PG_OPTIONS}"
# The API's pool is sized to the database, as docs/scaling.md recommends for a deployment: Maximum Pool Size = 4 x the
# database's cores over the API processes that share it (here one API, and PostgreSQL runs on this machine: 4 x nproc).
# With 64 HTTP connections the requests queue for a connection in the API (first come, first served) instead of
# running as 64 PostgreSQL backends on 2 cores (measured against Npgsql's default of 100, and 4 and 16: bench/http/README.md,
# "A pool sized to the database"). Minimum Pool Size is the same, so the pool keeps the connections it opened, as pgbench
# keeps its clients connected: Npgsql otherwise closes the median idle count every 5 minutes (Connection Idle
# Lifetime), during the first get round, and the next requests wait for new backends (bench/http/README.md).
# Not added when FEEDBACKHUB_BENCH_PG_OPTIONS chooses a pool size itself.
API_PG_CONN="$PG_CONN" API_POOL="" DB_CORES="$(nproc)" # PostgreSQL runs on this machine
if ! grep -qiE '(minimum pool size|minpoolsize|maximum pool size|maxpoolsize) *=' <<<"${FEEDBACKHUB_BENCH_PG_OPTIONS:-}"; then
  API_POOL=$(( 4 * DB_CORES ))
  API_PG_CONN+=";Maximum Pool Size=$API_POOL;Minimum Pool Size=$API_POOL"
fi
bench_create_database

# ------------------------------------------------------------------------------------------------
# 2. Build, migrate, seed, start the API
# ------------------------------------------------------------------------------------------------
port_open "$PORT" && die "something already listens on 127.0.0.1:$PORT; stop it first"
say "dotnet build -c Release src/Api src/Worker"
(cd "$REPO" && dotnet build -c Release src/Api -nologo -v q && dotnet build -c Release src/Worker -nologo -v q) >"$LOG/build.log" 2>&1 || { tail -n 30 "$LOG/build.log" >&2; die "build failed"; }
export ConnectionStrings__Postgres="$PG_CONN"
export ConnectionStrings__RabbitMq="$FEEDBACKHUB_RABBITMQ"
Webhooks__SecretKey="$(head -c 32 /dev/urandom | base64)" # a throwaway key: the bench creates no webhooks
export Webhooks__SecretKey
export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
dotnet "$DLL" migrate >"$LOG/migrate.log" 2>&1 || { cat "$LOG/migrate.log" >&2; die "migrate failed"; }
dotnet "$DLL" seed-demo >"$LOG/seed.log" 2>&1 || { cat "$LOG/seed.log" >&2; die "seed-demo failed"; }
key_of() { awk -v r="$1" '$1 == r && $NF ~ /^fh_/ { print $NF; exit }' "$LOG/seed.log"; }
KEY_INTEGRATION="$(key_of integration)"; KEY_INTERVIEWER="$(key_of interviewer)"
[[ -n "$KEY_INTEGRATION" && -n "$KEY_INTERVIEWER" ]] || { cat "$LOG/seed.log" >&2; die "could not read the demo keys from seed-demo"; }
if ((EXTRA_APPS > 0)); then
  say "generating $EXTRA_APPS history applications in the tenant (bench/data/generate.sh, about 10 s per 100,000)"
  "$REPO/bench/data/generate.sh" --db "$DB" --applications "$EXTRA_APPS" --in-flight 0 --port "$PG_PORT" >"$LOG/generate.log" 2>&1 ||
    { tail -n 30 "$LOG/generate.log" >&2; die "generating the extra applications failed"; }
fi

# The worker runs beside the API, as in production: its audit sealer places the saves' events in the tenant's tree
# while they are measured (it sends no email here: nothing is due).
say "starting the worker (audit sealing)"
RabbitMq__Prefix="bench" Smtp__Host=127.0.0.1 Smtp__Port=9 Smtp__Security=None ASPNETCORE_URLS="http://127.0.0.1:5091" \
  dotnet "$WORKER_DLL" >"$LOG/worker.log" 2>&1 &
WORKER_PID=$!

say "starting the API on $BASE"
ConnectionStrings__Postgres="$API_PG_CONN" ASPNETCORE_URLS="$BASE" dotnet "$DLL" >"$LOG/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 150); do curl -fs "$BASE/health/live" >/dev/null 2>&1 && break; kill -0 "$API_PID" 2>/dev/null || break; sleep 0.2; done
curl -fs "$BASE/health/live" >/dev/null || { tail -n 30 "$LOG/api.log" >&2; die "the API did not come up"; }

# ------------------------------------------------------------------------------------------------
# 3. Test data over HTTP
# ------------------------------------------------------------------------------------------------
api() { # method path key [body] -> body on stdout; fails on non-2xx
  local out code
  out="$(curl -sS -X "$1" -H "Authorization: Bearer $3" ${4:+-H "Content-Type: application/json" --data-binary "$4"} -w '\n%{http_code}' "$BASE$2")"
  code="${out##*$'\n'}"
  [[ "$code" == 2* ]] || { printf '%s %s -> %s: %s\n' "$1" "$2" "$code" "${out%$'\n'*}" >&2; return 1; }
  printf '%s' "${out%$'\n'*}"
}
TEMPLATE_ID="$(api GET '/v1/templates?published=true' "$KEY_INTERVIEWER" | jq -r '[.items[] | select(.name == "Software engineering interview")][0].id // .items[0].id')"
[[ "$TEMPLATE_ID" =~ ^[0-9a-f-]{36}$ ]] || die "no published template found"
TEMPLATE_VERSION="$(api GET "/v1/templates/$TEMPLATE_ID" "$KEY_INTERVIEWER" | jq -r '.publishedVersion // 1')"
# Valid answers: every criterion, its first band, that band's first pre-approved phrase, a clean comment where allowed.
api GET "/v1/templates/$TEMPLATE_ID/versions/$TEMPLATE_VERSION" "$KEY_INTERVIEWER" | jq -c '{answers: [.content.criteria[] | {
    criterion: .key, band: .bands[0].key, phrases: (.bands[0].phrases // [])[0:1],
    comment: (if .comment.allowed then "You explained your reasoning clearly and checked your work before moving on to the next step." else null end)}]}' \
  >"$WORK/answers.json"
say "creating $ROWS applications and feedback drafts (template $TEMPLATE_ID v$TEMPLATE_VERSION), 6 at a time"
create_one() { # i: application bench-app-i with its candidate, then its feedback draft
  local app
  app="$(api PUT "/v1/applications/by-external-id/bench-app-$1" "$KEY_INTEGRATION" \
    "{\"candidate\":{\"externalId\":\"bench-cand-$1\",\"firstName\":\"Ada\",\"lastName\":\"Lovelace\",\"email\":\"bench-$1@example.com\"},\"positionTitle\":\"Backend Engineer\",\"stageReached\":\"onsite\"}" | jq -r .id)" || return 1
  api POST /v1/feedback "$KEY_INTERVIEWER" "{\"applicationId\":\"$app\",\"templateId\":\"$TEMPLATE_ID\"}" >/dev/null
}
export -f api create_one
export BASE KEY_INTEGRATION KEY_INTERVIEWER TEMPLATE_ID
seq 1 "$ROWS" | xargs -P 6 -I{} bash -c 'create_one {}' || die "creating the test data failed"
# The measured drafts: those of the bench's own applications (--extra-applications adds others to the tenant).
BENCH_FEEDBACK="SELECT f.id, f.application_id FROM feedback f JOIN applications a ON a.id = f.application_id WHERE a.external_id LIKE 'bench-app-%'"
[[ "$(psql_db "$DB" "SELECT count(*) FROM ($BENCH_FEEDBACK) b")" == "$ROWS" ]] || die "expected $ROWS feedback drafts"
# One save through curl proves the body is valid before measuring.
FIRST_FEEDBACK="$(psql_db "$DB" "SELECT id FROM ($BENCH_FEEDBACK) b ORDER BY id LIMIT 1")"
api PUT "/v1/feedback/$FIRST_FEEDBACK/answers" "$KEY_INTERVIEWER" "$(cat "$WORK/answers.json")" | jq -e '.version == 2' >/dev/null ||
  die "a save with the benchmark body did not succeed"
# bench_ids: n = 1..ROWS for pgbench (client c owns n = c*k+1 .. c*k+k); the same ids feed wrk.
psql_db "$DB" "CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id)::int AS n, id AS feedback_id, application_id FROM ($BENCH_FEEDBACK) b;
               ALTER TABLE bench_ids ADD PRIMARY KEY (n); ANALYZE" >/dev/null
lua_list() { { echo "return {"; psql_db "$DB" "SELECT '\"' || $1 || '\",' FROM bench_ids ORDER BY n"; echo "}"; } >"$2"; }
lua_list feedback_id "$WORK/feedback_ids.lua"
lua_list application_id "$WORK/application_ids.lua"
IFS='|' read -r KEY_PREFIX TENANT_ID < <(psql_db "$DB" "SELECT prefix, tenant_id FROM api_keys WHERE display_name = 'Demo Hiring Manager' AND revoked_at IS NULL")

# ------------------------------------------------------------------------------------------------
# 4./5. Measurements
# ------------------------------------------------------------------------------------------------
declare -A RPS P50 P99 NON2XX SOCKERR TPS LAT PGP99 PGFAIL LOCKWAIT APICPU
CLK_TCK="$(getconf CLK_TCK)"
api_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$API_PID/stat"; }   # utime + stime of the API process
# PostgreSQL's CPU: the postmaster's own and its reaped children's (cutime + cstime: backends that ended, e.g. pgbench's),
# plus every live child's (backends, checkpointer, autovacuum...). Loopback PostgreSQL on this machine only.
PG_MASTER="$(awk '/^PPid/ { print $2 }' "/proc/$(psql_db postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")/status" 2>/dev/null || true)"
pg_cpu_ticks() {
  [[ -n "$PG_MASTER" && -r "/proc/$PG_MASTER/stat" ]] || { echo 0; return; }
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_MASTER/stat"
    for c in $(cat "/proc/$PG_MASTER/task/$PG_MASTER/children" 2>/dev/null); do awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || true; done # a backend may end meanwhile
  } | awk '{ t += $1 } END { print t + 0 }'
}
declare -A PGCPU
pg_cpu_per_op() { # ticks ops -> "x.xx"
  awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", t / hz * 1000 / n; else print "n/a" }'
}
# Samples, every 0.5 s, how many bench-database sessions wait on a lock (the tenant row) and how many are active.
start_sampler() {
  ( while :; do
      psql_db postgres "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()" 2>/dev/null
      sleep 0.5
    done ) >"$WORK/sampler-$1.txt" &
  SAMPLER_PID=$!
}
stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
  LOCKWAIT[$1]="$(awk -F'|' 'NF==2 {w+=$1; a+=$2; n++} END { if (n) printf "%.1f of %.1f", w/n, a/n; else print "n/a" }' "$WORK/sampler-$1.txt")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

run_wrk() { # name lua ids-file duration
  BENCH_IDS="$3" BENCH_KEY="$KEY_INTERVIEWER" BENCH_BODY="$WORK/answers.json" BENCH_THREADS="$THREADS" \
    timeout $(( $4 + 30 )) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${4}s" --timeout 10s --latency -s "$HERE/lua/$2" "$BASE" 2>&1
}
measure_wrk() { # name lua ids-file [warm-up seconds, default --warmup]
  local name="$1" out line warm="${4:-$WARMUP}"
  say "wrk $name: warm-up ${warm}s"
  run_wrk "$name" "$2" "$3" "$warm" >"$LOG/wrk-$name-warmup.txt"
  say "wrk $name: ${DURATION}s, $THREADS threads, $CONNECTIONS connections"
  start_sampler "wrk-$name"
  local cpu0 pg0; cpu0="$(api_cpu_ticks)"; pg0="$(pg_cpu_ticks)"
  out="$(run_wrk "$name" "$2" "$3" "$DURATION")"
  local cpu1 pg1; cpu1="$(api_cpu_ticks)"; pg1="$(pg_cpu_ticks)"
  stop_sampler "wrk-$name"
  printf '%s\n' "$out" >"$LOG/wrk-$name.txt"
  printf '%s\n' "$out" | grep -v '^BENCH ' | sed 's/^/    /' >&2
  line="$(grep '^BENCH ' <<<"$out" | tail -n 1)" || die "wrk $name printed no summary (see $LOG/wrk-$name.txt)"
  kv() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$line"; }
  RPS[$name]="$(kv rps)"; P50[$name]="$(kv p50_ms)"; P99[$name]="$(kv p99_ms)"
  # API process CPU (all cores) per request, and its average share of the machine's cores during the run
  APICPU[$name]="$(awk -v t=$((cpu1 - cpu0)) -v hz="$CLK_TCK" -v n="$(kv requests)" -v d="$(kv duration_s)" -v c="$(nproc)" \
    'BEGIN { printf "%.2f ms CPU/request, %.0f%% of %d cores", (n > 0 ? t / hz * 1000 / n : 0), t / hz / d / c * 100, c }')"
  PGCPU[$name]="$(pg_cpu_per_op $((pg1 - pg0)) "$(kv requests)")"
  NON2XX[$name]="$(kv non2xx)"
  SOCKERR[$name]=$(( $(kv connect_err) + $(kv read_err) + $(kv write_err) + $(kv timeouts) ))
  if (( NON2XX[$name] > 0 || SOCKERR[$name] > 0 )); then
    printf '\n[bench] !!!!!!!! %s: %s non-2xx responses and %s socket errors/timeouts: THESE NUMBERS INCLUDE FAILURES !!!!!!!!\n\n' \
      "$name" "${NON2XX[$name]}" "${SOCKERR[$name]}" >&2
  fi
}

measure_pgbench() { # name sql-file [clients]
  local name="$1" clients="${3:-$CONNECTIONS}" out
  say "pgbench $name: ${DURATION}s, $clients clients, $THREADS threads, prepared"
  start_sampler "pg-$name"
  local pg0 pg1; pg0="$(pg_cpu_ticks)"
  # -l: every transaction's latency (one line each, in $WORK) for the percentiles pgbench's summary lacks.
  rm -f "$WORK/pglog-$name".*
  out="$(timeout $(( DURATION + 60 )) "$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared \
    -c "$clients" -j "$THREADS" -T "$DURATION" -f "$HERE/sql/$2" -l --log-prefix="$WORK/pglog-$name" \
    -D prefix="$KEY_PREFIX" -D tenant="$TENANT_ID" -D sysacc=false -D k="$ROWS_PER_CONN" -D rows="$ROWS" \
    -D answers="$(jq -c .answers "$WORK/answers.json")" "$DB" 2>&1)" || { printf '%s\n' "$out" | tail -n 30 >&2; stop_sampler "pg-$name"; die "pgbench $name failed"; }
  pg1="$(pg_cpu_ticks)"
  stop_sampler "pg-$name"
  printf '%s\n' "$out" >"$LOG/pgbench-$name.txt"
  PGCPU[pg-$name]="$(pg_cpu_per_op $((pg1 - pg0)) "$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' <<<"$out")")"
  printf '%s\n' "$out" | grep -E '^(number of (transactions|failed)|latency|tps)' | sed 's/^/    /' >&2
  TPS[$name]="$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\).*/\1/p' <<<"$out")"
  LAT[$name]="$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' <<<"$out")"
  # The log's third column is the transaction's latency in microseconds; p99 by nearest rank.
  PGP99[$name]="$(cat "$WORK/pglog-$name".* | awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 } END { if (NR) { i = int(NR * 0.99 + 0.999999); printf "%.3f", v[i] / 1000 } }')"
  rm -f "$WORK/pglog-$name".*
  printf '    latency p99 = %s ms\n' "${PGP99[$name]}" >&2
  PGFAIL[$name]="$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' <<<"$out")"
  if [[ -n "${PGFAIL[$name]}" && "${PGFAIL[$name]}" != 0 ]]; then
    printf '\n[bench] !!!!!!!! pgbench %s: %s failed transactions !!!!!!!!\n\n' "$name" "${PGFAIL[$name]}" >&2
  fi
}

unsealed() { psql_db "$DB" "SELECT count(*) FROM audit_events WHERE sequence IS NULL"; }
wait_sealed() { for _ in $(seq 1 600); do [[ "$(unsealed)" == 0 ]] && break; sleep 0.1; done; } # at most about a minute

# Sealing lag: events still unsealed when the first save round ends, and how long the worker takes to seal them.
measure_sealing() {
  UNSEALED_AT_END="$(unsealed)"
  local start; start=$(date +%s%N)
  wait_sealed
  SEAL_DRAIN_MS=$(( ($(date +%s%N) - start) / 1000000 ))
  SEAL_LAG_P99="$(psql_db "$DB" "SELECT round(extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY c.created_at - e.occurred_at)) * 1000) FROM audit_events e JOIN audit_checkpoints c ON c.tenant_id = e.tenant_id AND c.tree_size = (SELECT min(tree_size) FROM audit_checkpoints c2 WHERE c2.tenant_id = e.tenant_id AND c2.tree_size >= e.sequence) WHERE e.action = 'feedback.saved'")"
}

# Before a scenario's first round: the writes before it sealed, vacuumed and checkpointed. Otherwise the get rounds,
# measured right after minutes of saves, pay for their cleanup (the sealer's backlog, autovacuum, the checkpoint, hint
# bits) and pgbench, which comes after, does not: measured 2026-12-04, PostgreSQL spent 0.23 ms per API get against
# 0.13 per pgbench get for the same prepared statement, and 0.15 when the get ran first (bench/http/README.md).
settle() {
  local start; start=$(date +%s%N)
  wait_sealed
  psql_db "$DB" "VACUUM (ANALYZE)" >/dev/null
  psql_db "$DB" "CHECKPOINT" >/dev/null
  SETTLE_MS[$1]=$(( ($(date +%s%N) - start) / 1000000 ))
  say "$1: settled (sealed, vacuumed, checkpointed) in ${SETTLE_MS[$1]} ms"
}
declare -A SETTLE_MS

ROUND_WARMUP=5
declare -A MEDIAN_ROUND ROUND_RATIOS
# name lua ids-file sql-file [command after the first wrk round]: --rounds rounds of wrk then pgbench, back to back. The
# round with the median ratio (API req/s / pgbench tps; the upper middle of an even count: bench/lib/median.sh)
# then stands for the scenario: its figures are copied to the plain name. Errors and failed transactions are summed over every round, so a failure anywhere marks the figures.
measure_rounds() {
  local name="$1" r warm
  settle "$name"
  for ((r = 1; r <= ROUNDS; r++)); do
    ((r == 1)) && warm=$WARMUP || warm=$ROUND_WARMUP
    measure_wrk "$name.$r" "$2" "$3" "$warm"
    if ((r == 1)) && [[ -n "${5:-}" ]]; then "$5"; fi
    # pgbench's answers variable is the exact JSON array the API stores; the API is idle meanwhile.
    measure_pgbench "$name.$r" "$4"
  done
  MEDIAN_ROUND[$name]="$(for ((r = 1; r <= ROUNDS; r++)); do
      awk -v r="$r" -v a="${RPS[$name.$r]}" -v b="${TPS[$name.$r]}" 'BEGIN { printf "%d %.9f\n", r, (b > 0 ? a / b : 0) }'
    done | sort -k2,2g -k1,1n | middle_line | cut -d' ' -f1)"
  ROUND_RATIOS[$name]="$(for ((r = 1; r <= ROUNDS; r++)); do ratio "${RPS[$name.$r]}" "${TPS[$name.$r]}"; ((r < ROUNDS)) && printf '/' || true; done)"
  local m="${MEDIAN_ROUND[$name]}" a
  for a in RPS P50 P99 APICPU PGCPU TPS LAT PGP99; do declare -n arr="$a"; arr[$name]="${arr[$name.$m]}"; unset -n arr; done
  PGCPU[pg-$name]="${PGCPU[pg-$name.$m]}"; LOCKWAIT[wrk-$name]="${LOCKWAIT[wrk-$name.$m]}"; LOCKWAIT[pg-$name]="${LOCKWAIT[pg-$name.$m]}"
  NON2XX[$name]=0 SOCKERR[$name]=0 PGFAIL[$name]=0
  for ((r = 1; r <= ROUNDS; r++)); do
    NON2XX[$name]=$(( NON2XX[$name] + NON2XX[$name.$r] )); SOCKERR[$name]=$(( SOCKERR[$name] + SOCKERR[$name.$r] ))
    PGFAIL[$name]=$(( PGFAIL[$name] + ${PGFAIL[$name.$r]:-0} ))
  done
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
measure_rounds save save_answers.lua "$WORK/feedback_ids.lua" save.sql measure_sealing
measure_rounds get get_application.lua "$WORK/application_ids.lua" get.sql
measure_wrk live health_live.lua "$WORK/application_ids.lua"
measure_pgbench save_api save_api.sql
if [[ -n "$API_POOL" ]]; then measure_pgbench save_pool save.sql "$API_POOL"; fi
AUDIT_EVENTS="$(psql_db "$DB" "SELECT count(*) FROM audit_events WHERE action = 'feedback.saved'")"
FEEDBACK_ROWS="$(psql_db "$DB" "SELECT count(*) FROM feedback")"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------------------------------------
# 6. Report
# ------------------------------------------------------------------------------------------------
fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
flag() { local s=""; (( NON2XX[$1] > 0 )) && s+=" **${NON2XX[$1]} non-2xx**"; (( SOCKERR[$1] > 0 )) && s+=" **${SOCKERR[$1]} socket errors**"; printf '%s' "$s"; }
CPU="$(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -n 1)"
REPORT="$HERE/results/$STAMP.md"
mkdir -p "$HERE/results"
{
  echo "# FeedbackHub HTTP benchmark, $STAMP"
  echo
  echo "| scenario | API req/s | API p50 | API p99 | pgbench tps | pgbench latency avg | pgbench p99 | API/pgbench ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "| save answers (PUT /v1/feedback/{id}/answers)$(flag save) | $(fmt "${RPS[save]}") | ${P50[save]} ms | ${P99[save]} ms | $(fmt "${TPS[save]}") | ${LAT[save]} ms | ${PGP99[save]} ms | $(ratio "${RPS[save]}" "${TPS[save]}") |"
  echo "| get application (GET /v1/applications/{id})$(flag get) | $(fmt "${RPS[get]}") | ${P50[get]} ms | ${P99[get]} ms | $(fmt "${TPS[get]}") | ${LAT[get]} ms | ${PGP99[get]} ms | $(ratio "${RPS[get]}" "${TPS[get]}") |"
  echo "| HTTP floor (GET /health/live, no auth, no DB)$(flag live) | $(fmt "${RPS[live]}") | ${P50[live]} ms | ${P99[live]} ms | | | | |"
  echo "| diagnostic: the API's save SQL, its read included (pgbench only) | | | | $(fmt "${TPS[save_api]}") | ${LAT[save_api]} ms | ${PGP99[save_api]} ms | |"
  if [[ -n "$API_POOL" ]]; then echo "| diagnostic: the minimal save with $API_POOL pgbench clients, as many as the API's pool (pgbench only) | | | | $(fmt "${TPS[save_pool]}") | ${LAT[save_pool]} ms | ${PGP99[save_pool]} ms | |"; fi
  echo
  echo "Save and get ran in $ROUNDS round$( ((ROUNDS == 1)) || echo s), each wrk for ${DURATION} s then pgbench for ${DURATION} s; the table above gives the round with the median ratio (save: round ${MEDIAN_ROUND[save]}, get: round ${MEDIAN_ROUND[get]}), and so do the lock, CPU and database cost figures below. Before each scenario the database settled (audit events sealed, VACUUM (ANALYZE), CHECKPOINT): save ${SETTLE_MS[save]} ms, get ${SETTLE_MS[get]} ms."
  echo
  echo "| round | save req/s | pgbench save tps | save ratio | save p99 | pgbench save p99 | get req/s | pgbench get tps | get ratio | get p99 | pgbench get p99 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "| $r | $(fmt "${RPS[save.$r]}") | $(fmt "${TPS[save.$r]}") | $(ratio "${RPS[save.$r]}" "${TPS[save.$r]}") | ${P99[save.$r]} ms | ${PGP99[save.$r]} ms | $(fmt "${RPS[get.$r]}") | $(fmt "${TPS[get.$r]}") | $(ratio "${RPS[get.$r]}" "${TPS[get.$r]}") | ${P99[get.$r]} ms | ${PGP99[get.$r]} ms |"
  done
  echo
  echo "Sessions of the bench database waiting on a lock, of those active (mean of 0.5 s samples):"
  echo "wrk save ${LOCKWAIT[wrk-save]}; pgbench save ${LOCKWAIT[pg-save]}; pgbench save as the API sends it ${LOCKWAIT[pg-save_api]};"
  echo "wrk get ${LOCKWAIT[wrk-get]}; pgbench get ${LOCKWAIT[pg-get]}."
  echo "API process CPU: save ${APICPU[save]}; get ${APICPU[get]}; live ${APICPU[live]}."
  echo "PostgreSQL CPU per operation (all its processes, the worker's sealing included): API save ${PGCPU[save]} ms, pgbench minimal save ${PGCPU[pg-save]} ms, pgbench save as the API sends it ${PGCPU[pg-save_api]} ms${API_POOL:+, pgbench minimal save with $API_POOL clients ${PGCPU[pg-save_pool]} ms}; API get ${PGCPU[get]} ms, pgbench get ${PGCPU[pg-get]} ms."
  echo "Database cost ratio (pgbench's PostgreSQL CPU per operation / the API's): save $(ratio "${PGCPU[pg-save]}" "${PGCPU[save]}"), get $(ratio "${PGCPU[pg-get]}" "${PGCPU[get]}"); with the API on machines of its own, PostgreSQL alone would bound it near that share of pgbench's rate."
  echo "Non-2xx responses: save ${NON2XX[save]}, get ${NON2XX[get]}, live ${NON2XX[live]}; socket errors/timeouts: save ${SOCKERR[save]}, get ${SOCKERR[get]}, live ${SOCKERR[live]};"
  echo "pgbench failed transactions: save ${PGFAIL[save]:-?}, get ${PGFAIL[get]:-?}, save as the API sends it ${PGFAIL[save_api]:-?}${API_POOL:+, minimal save with $API_POOL clients ${PGFAIL[save_pool]:-?}}."
  echo
  echo "BENCH save ratio=$(ratio "${RPS[save]}" "${TPS[save]}") p99_ms=$(fmt "${P99[save]}") pgbench_p99_ms=$(fmt "${PGP99[save]}") rounds=${ROUND_RATIOS[save]}"
  echo "BENCH get ratio=$(ratio "${RPS[get]}" "${TPS[get]}") p99_ms=$(fmt "${P99[get]}") pgbench_p99_ms=$(fmt "${PGP99[get]}") rounds=${ROUND_RATIOS[get]}"
  echo
  echo "feedback.saved audit events written during the run (API + pgbench, warm-up included): $AUDIT_EVENTS."
  echo "Audit sealing (worker beside the API): $UNSEALED_AT_END events unsealed when the first save round ended, all sealed ${SEAL_DRAIN_MS} ms later; event-to-signed-checkpoint p99 ${SEAL_LAG_P99} ms over every feedback.saved event."
  echo
  echo "- command: \`${FEEDBACKHUB_BENCH_PG_OPTIONS:+FEEDBACKHUB_BENCH_PG_OPTIONS='$FEEDBACKHUB_BENCH_PG_OPTIONS' }bench/http/run.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}\` (save and get: $ROUNDS rounds of ${DURATION} s of wrk then ${DURATION} s of pgbench, a wrk scenario warmed up ${WARMUP} s before its first round and ${ROUND_WARMUP} s before the others; $CONNECTIONS connections/clients, $THREADS threads, $ROWS feedback drafts and applications measured in one tenant holding $FEEDBACK_ROWS feedback rows)"
  if [[ -n "$API_POOL" ]]; then
    echo "- API connection pool: Maximum Pool Size=$API_POOL;Minimum Pool Size=$API_POOL added (4 x the database's $DB_CORES cores, as docs/scaling.md recommends; the pool keeps the connections it opened, as pgbench keeps its clients connected)"
  else
    echo "- API connection pool: as FEEDBACKHUB_BENCH_PG_OPTIONS sets it"
  fi
  echo "- machine: $(nproc) CPUs, $CPU, $(awk '/MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- software: .NET $(dotnet --list-runtimes | sed -nE 's/^Microsoft.AspNetCore.App ([^ ]+).*/\1/p' | tail -n 1), $("$PSQL" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'SHOW server_version' | cut -d' ' -f1) ($( ((STARTED_SERVICES)) && echo 'started by this run' || echo 'already running') test profile: fsync=off, synchronous_commit=off), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $("$PGBENCH" --version)"
  echo "- runtime knobs in the environment: $(env | grep -E '^(DOTNET_|ASPNETCORE_|Npgsql)' | grep -vE '^(ASPNETCORE_URLS|ASPNETCORE_ENVIRONMENT|DOTNET_ENVIRONMENT)=' | sort | tr '\n' ' ' | sed 's/ $//' | grep . || echo none)"
  echo "- API, wrk, pgbench and PostgreSQL share the same machine; wrk and pgbench run one after the other, never together."
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
} >"$REPORT"
echo
cat "$REPORT"
echo
say "written to ${REPORT#"$REPO"/}"
if (( NON2XX[save] + NON2XX[get] + NON2XX[live] + SOCKERR[save] + SOCKERR[get] + SOCKERR[live] > 0 )); then
  say "!!!!!!!! the run had HTTP errors (see the table); its throughput figures are not clean !!!!!!!!"
  exit 3
fi
