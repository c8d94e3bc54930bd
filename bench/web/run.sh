#!/usr/bin/env bash
# The HR web app's figures (issue 11): the live language check's round trip under 20 editors, and the server time of
# My work and the feedback form at 1,000, 10,000 and 100,000 applications in the tenant.
#
#   bench/web/run.sh [--quick] [--duration S] [--views N] [--sizes "1000 10000 100000"] [--editors 20] [--samples 30]
#
# 1. test-profile services: reused when PostgreSQL answers on the test port (left as they are), else started and
#    stopped again. Database feedbackhub_benchweb: created here, dropped at the end.
# 2. Release build of bench/web/WebBench (builds the Api with it), migrate, seed-demo; the API on 127.0.0.1:5091
#    (Production, FeedbackHub__SecureCookies=false so the cookies work over http on loopback, warnings only).
# 3. WebBench setup: a published template whose comments take 2,000 characters, an application, a feedback draft.
# 4. For each size: bench/data/generate.sh tops the tenant up to that many applications (set-based SQL), then one
#    signed-in client views My work (interviewer, recruiter) and the feedback form, --views times each after 20 warm-up
#    views, one at a time; and EXPLAIN ANALYZE times the navigation's "candidates waiting" count.
# 5. At the largest size: the checker in-process (floor), 1 and --editors editors checking a ~2,000-character answer
#    (typing: one sentence new per check), Chromium on the real form under that load, and last --editors editors
#    pasting (every sentence new per check).
# 6. Table on stdout and in bench/web/results/<UTC>.md. Loopback only; bounded by timeouts; everything it started stops.
set -euo pipefail

QUICK=0 DURATION=60 VIEWS=200 SIZES="1000 10000 100000" EDITORS=20 SAMPLES=30
ORIG_ARGS=("$@")
while (($#)); do
  case "$1" in
    --quick) QUICK=1; DURATION=15; VIEWS=50; SIZES="1000 10000"; SAMPLES=10; shift ;;
    --duration) DURATION="$2"; shift 2 ;;
    --views) VIEWS="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --editors) EDITORS="$2"; shift 2 ;;
    --samples) SAMPLES="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in DURATION VIEWS EDITORS SAMPLES; do [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number" >&2; exit 2; }; done
for s in $SIZES; do [[ "$s" =~ ^[0-9]+$ ]] || { echo "run.sh: --sizes: whole numbers" >&2; exit 2; }; done
((DURATION >= 1 && DURATION <= 600 && EDITORS >= 1 && EDITORS <= 200)) || { echo "run.sh: --duration 1..600, --editors 1..200" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SERVICES="$REPO/scripts/services.sh"
PORT=5091
BASE="http://127.0.0.1:$PORT"
DB=feedbackhub_benchweb
STAMP="$(date -u +%Y-%m-%dT%H%MZ)"
WORK="$(mktemp -d /tmp/feedbackhub-benchweb.XXXXXX)"
LOG="$WORK/logs"; mkdir -p "$LOG"
DLL="$REPO/src/Api/bin/Release/net10.0/FeedbackHub.Api.dll"
BENCH="$HERE/WebBench/bin/Release/net10.0/WebBench.dll"
CHROMIUM="${FEEDBACKHUB_CHROMIUM:-/usr/bin/chromium}"

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
PSQL="${PG_BIN:+$PG_BIN/psql}"; [[ -x "${PSQL:-}" ]] || PSQL="$(command -v psql || true)"
missing=()
command -v jq >/dev/null || missing+=(jq)
[[ -x "${PSQL:-}" ]] || missing+=(postgresql)
[[ -x "$CHROMIUM" ]] || missing+=(chromium)
if ((${#missing[@]})); then
  say "installing with apt: ${missing[*]}"
  as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -q >"$LOG/apt.log" 2>&1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$LOG/apt.log" 2>&1 ||
    { tail -n 30 "$LOG/apt.log" >&2; die "apt-get install failed"; }
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; PSQL="$PG_BIN/psql"
fi
command -v dotnet >/dev/null || die "the .NET SDK is required (see docs/running-locally.md)"

API_PID=""
. "$REPO/bench/lib/test-services.sh"
cleanup() {
  local rc=$?
  set +e
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

# 1. Services and the database
bench_use_test_services
bench_create_database

# 2. Build, migrate, seed, API
port_open "$PORT" && die "something already listens on 127.0.0.1:$PORT; stop it first"
say "dotnet build -c Release bench/web/WebBench (builds src/Api with it)"
(cd "$REPO" && timeout 900 dotnet build -c Release bench/web/WebBench -nologo -v q) >"$LOG/build.log" 2>&1 || { tail -n 30 "$LOG/build.log" >&2; die "build failed"; }
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$DB"
export ConnectionStrings__RabbitMq="$FEEDBACKHUB_RABBITMQ"
Webhooks__SecretKey="$(head -c 32 /dev/urandom | base64)"; export Webhooks__SecretKey
export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production Logging__LogLevel__Default=Warning FeedbackHub__SecureCookies=false
timeout 120 dotnet "$DLL" migrate >"$LOG/migrate.log" 2>&1 || { cat "$LOG/migrate.log" >&2; die "migrate failed"; }
timeout 120 dotnet "$DLL" seed-demo >"$LOG/seed.log" 2>&1 || { cat "$LOG/seed.log" >&2; die "seed-demo failed"; }
key() { awk -v r="$1" '$1 == r && $NF ~ /^fh_/ { print $NF; exit }' "$LOG/seed.log"; }
password() { awk -v e="$1" '$2 == e { print $3; exit }' "$LOG/seed.log"; }
IVY=interviewer@acme-robotics.example RILEY=recruiter@acme-robotics.example
IVY_PW="$(password "$IVY")" RILEY_PW="$(password "$RILEY")"
[[ -n "$IVY_PW" && -n "$RILEY_PW" && -n "$(key legal)" ]] || die "seed-demo printed no demo people or keys (see $LOG/seed.log)"
ASPNETCORE_URLS="$BASE" dotnet "$DLL" >"$LOG/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 120); do curl -fsS -o /dev/null "$BASE/health/live" 2>/dev/null && break; kill -0 "$API_PID" 2>/dev/null || break; sleep 0.5; done
curl -fsS -o /dev/null "$BASE/health/live" || { tail -n 30 "$LOG/api.log" >&2; die "the API did not start"; }
say "API on $BASE (pid $API_PID)"
bench() { timeout "$1" dotnet "$BENCH" "${@:2}" --base "$BASE"; }
kv() { sed -nE "s/.* $2=([^ ]+).*/\1/p" <<<"$1"; }

# 3. The long-comment template and the draft the editors and the browser write in
SETUP="$(bench 120 setup --recruiter-key "$(key recruiter)" --legal-key "$(key legal)" --integration-key "$(key integration)" --interviewer-key "$(key interviewer)")" ||
  die "WebBench setup failed"
BENCH_FEEDBACK="$(kv "$SETUP" feedback)"

# 4. Page views at each size
TENANT_ID="$(psql_db "$DB" "SELECT id FROM tenants WHERE name = 'Acme Robotics'")"
IVY_ID="$(psql_db "$DB" "SELECT id FROM people WHERE normalized_email = upper('$IVY')")"
waiting_ms() { # me ('' = recruiter): execution time of the navigation's waiting count, as EF sends it
  local mine=""
  [[ -n "$1" ]] && mine="AND EXISTS (SELECT 1 FROM feedback AS f0 WHERE (false OR f0.tenant_id = '$TENANT_ID') AND f0.application_id = f.application_id AND '$1' = ANY (f0.contributors))"
  psql_db "$DB" "EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*)::int FROM feedback_requests AS f
    WHERE (false OR f.tenant_id = '$TENANT_ID') AND f.answered_at IS NULL $mine" | jq '.[0]["Execution Time"]'
}
declare -A PAGE
FORM_ID=""
LOAD_START="$(load)"
for size in $SIZES; do
  say "generating: tenant topped up to $size applications"
  timeout 1800 "$REPO/bench/data/generate.sh" --db "$DB" --applications "$size" --port "$PG_PORT" >"$LOG/generate-$size.log" 2>&1 ||
    { cat "$LOG/generate-$size.log" >&2; die "generate.sh failed"; }
  cat "$LOG/generate-$size.log" >&2
  # The same draft at every size: the demo interviewer's oldest live draft (live rows never change with the size).
  [[ -n "$FORM_ID" ]] || FORM_ID="$(psql_db "$DB" "SELECT f.id FROM feedback f JOIN applications a ON a.id = f.application_id
    WHERE f.status = 'Draft' AND '$IVY_ID' = ANY (f.contributors) AND a.external_id LIKE 'gen-app-live-%' ORDER BY a.external_id LIMIT 1")"
  PAGE[$size,apps]="$(psql_db "$DB" "SELECT count(*) FROM applications")"
  PAGE[$size,requests]="$(psql_db "$DB" "SELECT count(*) FROM feedback_requests")"
  PAGE[$size,load]="$(load)"
  for who in interviewer recruiter form; do
    case "$who" in
      interviewer) args=(--email "$IVY" --password "$IVY_PW" --path /app/ --expect '<h1>My work</h1>') ;;
      recruiter) args=(--email "$RILEY" --password "$RILEY_PW" --path /app/ --expect '<h1>My work</h1>') ;;
      form) args=(--email "$IVY" --password "$IVY_PW" --path "/app/feedback/$FORM_ID" --expect 'id="comment-problem-solving"') ;;
    esac
    out="$(bench 900 pages "${args[@]}" --views "$VIEWS" --warmup 20 --label "$who")" || die "page views $who at $size failed: $out"
    say "  $size $who: $out"
    PAGE[$size,$who,p50]="$(kv "$out" p50_ms)"; PAGE[$size,$who,p95]="$(kv "$out" p95_ms)"; PAGE[$size,$who,bytes]="$(kv "$out" bytes)"
  done
  PAGE[$size,wait_rec]="$(waiting_ms '')"; PAGE[$size,wait_ivy]="$(waiting_ms "$IVY_ID")"
done

# 5. The live check at the largest size
LOAD_CHECK_BEFORE="$(load)"
say "language check: in-process floor"
FLOOR_T="$(bench 600 floor --mode typing --samples 300)"; say "  $FLOOR_T"
FLOOR_P="$(bench 600 floor --mode paste --samples 30)"; say "  $FLOOR_P"
editors_run() { # editors mode
  local out
  out="$(bench $((DURATION + 180)) check --email "$IVY" --password "$IVY_PW" --feedback "$BENCH_FEEDBACK" --editors "$1" --mode "$2" --duration "$DURATION" --warmup 5)" ||
    say "check $1 editors $2 had errors"
  say "  $1 editors, $2: $out"
  printf '%s' "$out"
}
CHECK_ERRORS=0
say "language check: 1 editor, typing (${DURATION}s)"; C1="$(editors_run 1 typing)"
say "language check: $EDITORS editors, typing (${DURATION}s)"; CT="$(editors_run "$EDITORS" typing)"
say "browser: $SAMPLES samples on the form while $EDITORS editors type"
BR="$(bench 600 browser --email "$IVY" --password "$IVY_PW" --feedback "$BENCH_FEEDBACK" --editors "$EDITORS" --samples "$SAMPLES" --chromium "$CHROMIUM")" ||
  die "browser run failed: $BR"
say "  $BR"
# Last: every editor pasting saturates the cores, so nothing measured after it is disturbed by its queue.
say "language check: $EDITORS editors, paste (${DURATION}s)"; CP="$(editors_run "$EDITORS" paste)"
for r in "$C1" "$CT" "$CP"; do [[ "$(kv "$r" errors)" == 0 ]] || CHECK_ERRORS=1; done
LOAD_END="$(load)"

# 6. Report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
FIRST="${SIZES%% *}"; LAST="${SIZES##* }"
CPU="$(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -n 1)"
REPORT="$HERE/results/$STAMP.md"
mkdir -p "$HERE/results"
{
  echo "# FeedbackHub web app benchmark, $STAMP"
  echo
  echo "## Live language check (~$(kv "$CT" chars) characters, full engine)"
  echo
  echo "| scenario | n | p50 | p95 | p99 | max | checks/s |"
  echo "|---|---|---|---|---|---|---|"
  echo "| HTTP round trip, $EDITORS editors, typing (one sentence new per check) | $(kv "$CT" n) | $(kv "$CT" p50_ms) ms | **$(kv "$CT" p95_ms) ms** | $(kv "$CT" p99_ms) ms | $(kv "$CT" max_ms) ms | $(kv "$CT" checks_per_s) |"
  echo "| HTTP round trip, 1 editor, typing | $(kv "$C1" n) | $(kv "$C1" p50_ms) ms | $(kv "$C1" p95_ms) ms | $(kv "$C1" p99_ms) ms | $(kv "$C1" max_ms) ms | $(kv "$C1" checks_per_s) |"
  echo "| HTTP round trip, $EDITORS editors, paste (every sentence new) | $(kv "$CP" n) | $(kv "$CP" p50_ms) ms | $(kv "$CP" p95_ms) ms | $(kv "$CP" p99_ms) ms | $(kv "$CP" max_ms) ms | $(kv "$CP" checks_per_s) |"
  echo "| browser: debounce fired (fetch) to highlights drawn (next frame), under $EDITORS editors | $(kv "$BR" n) | $(kv "$BR" p50_ms) ms | **$(kv "$BR" p95_ms) ms** | $(kv "$BR" p99_ms) ms | $(kv "$BR" max_ms) ms | |"
  echo "| browser: same, to the DOM rewritten (before the frame) | $(kv "$BR" n) | $(kv "$BR" dom_p50_ms) ms | $(kv "$BR" dom_p95_ms) ms | | | |"
  echo "| browser: last input event to highlights drawn (includes the 300 ms debounce) | $(kv "$BR" n) | $(kv "$BR" from_input_p50_ms) ms | $(kv "$BR" from_input_p95_ms) ms | | | |"
  echo "| in-process checker, typing (the floor) | $(kv "$FLOOR_T" n) | $(kv "$FLOOR_T" p50_ms) ms | $(kv "$FLOOR_T" p95_ms) ms | $(kv "$FLOOR_T" p99_ms) ms | $(kv "$FLOOR_T" max_ms) ms | |"
  echo "| in-process checker, paste | $(kv "$FLOOR_P" n) | $(kv "$FLOOR_P" p50_ms) ms | $(kv "$FLOOR_P" p95_ms) ms | $(kv "$FLOOR_P" p99_ms) ms | $(kv "$FLOOR_P" max_ms) ms | |"
  echo
  echo "Goal p95 < 150 ms (keypress pause to highlights shown). Ratios, p95: $EDITORS-editor HTTP / in-process floor (typing)" \
       "$(ratio "$(kv "$CT" p95_ms)" "$(kv "$FLOOR_T" p95_ms)"); browser / in-process floor $(ratio "$(kv "$BR" p95_ms)" "$(kv "$FLOOR_T" p95_ms)");" \
       "$EDITORS editors / 1 editor $(ratio "$(kv "$CT" p95_ms)" "$(kv "$C1" p95_ms)")."
  echo "Browser samples drew $(kv "$BR" marks) highlights each; the $EDITORS HTTP editors beside it: $(kv "$BR" editors_n) checks, p50 $(kv "$BR" editors_p50_ms) ms, p95 $(kv "$BR" editors_p95_ms) ms, $(kv "$BR" editors_errors) errors."
  echo "Errors: typing $(kv "$CT" errors), 1 editor $(kv "$C1" errors), paste $(kv "$CP" errors); checks that found nothing (should be 0): $(kv "$CT" no_findings)."
  echo
  echo "## Server time per page view (one client, sequential, $VIEWS views after 20 warm-up; loopback round trip, no Server-Timing header)"
  echo
  echo "| applications | requests | My work, interviewer p50 / p95 | My work, recruiter p50 / p95 | feedback form p50 / p95 | waiting count SQL (recruiter / interviewer) | load average |"
  echo "|---|---|---|---|---|---|---|"
  for size in $SIZES; do
    echo "| ${PAGE[$size,apps]} | ${PAGE[$size,requests]} | ${PAGE[$size,interviewer,p50]} / ${PAGE[$size,interviewer,p95]} ms | ${PAGE[$size,recruiter,p50]} / ${PAGE[$size,recruiter,p95]} ms | ${PAGE[$size,form,p50]} / ${PAGE[$size,form,p95]} ms | $(printf '%.1f' "${PAGE[$size,wait_rec]}") / $(printf '%.1f' "${PAGE[$size,wait_ivy]}") ms | ${PAGE[$size,load]} |"
  done
  echo
  echo "Ratio $LAST / $FIRST applications, p50: My work interviewer $(ratio "${PAGE[$LAST,interviewer,p50]}" "${PAGE[$FIRST,interviewer,p50]}")," \
       "recruiter $(ratio "${PAGE[$LAST,recruiter,p50]}" "${PAGE[$FIRST,recruiter,p50]}"), form $(ratio "${PAGE[$LAST,form,p50]}" "${PAGE[$FIRST,form,p50]}");" \
       "waiting count SQL recruiter $(ratio "${PAGE[$LAST,wait_rec]}" "${PAGE[$FIRST,wait_rec]}")."
  echo "Page sizes at $LAST: My work interviewer ${PAGE[$LAST,interviewer,bytes]} B, recruiter ${PAGE[$LAST,recruiter,bytes]} B, form ${PAGE[$LAST,form,bytes]} B."
  echo
  echo "BENCH web-check p95_ms=$(kv "$CT" p95_ms) browser_p95_ms=$(kv "$BR" p95_ms)"
  echo "BENCH web-pages ratio_mywork=$(ratio "${PAGE[$LAST,recruiter,p50]}" "${PAGE[$FIRST,recruiter,p50]}") ratio_form=$(ratio "${PAGE[$LAST,form,p50]}" "${PAGE[$FIRST,form,p50]}")"
  echo
  echo "- command: \`bench/web/run.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}\` (editors: ${DURATION} s measured after 5 s, think time 300 ms debounce + 200-700 ms typing; browser: $SAMPLES samples)"
  echo "- machine: $(nproc) CPUs, $CPU, $(awk '/MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo); load average at start $LOAD_START, before the check $LOAD_CHECK_BEFORE, at end $LOAD_END"
  echo "- software: .NET $(dotnet --list-runtimes | sed -nE 's/^Microsoft.AspNetCore.App ([^ ]+).*/\1/p' | tail -n 1), $("$PSQL" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'SHOW server_version' | cut -d' ' -f1) ($( ((STARTED_SERVICES)) && echo 'started by this run' || echo 'already running') test profile), $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
  echo "- the API, PostgreSQL, the load tool and Chromium share the machine; other work on it shows in the load average."
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$REPORT"
echo
cat "$REPORT"
echo
say "written to ${REPORT#"$REPO"/}"
((CHECK_ERRORS == 0)) || { say "some checks failed: see the table"; exit 3; }
