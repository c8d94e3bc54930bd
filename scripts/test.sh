#!/usr/bin/env bash
# THE test command: every test against real PostgreSQL (a Testcontainers container; the local server where no Docker
# engine can be had), RabbitMQ and SMTP (the `test` profile of scripts/services.sh, on loopback, state in .local/test/),
# and the browser tests on Debian's chromium (installed with apt when missing; screenshots in .local/test/artifacts/).
#
# Usage: scripts/test.sh [--stop] [extra dotnet test args...]
#   e.g. scripts/test.sh --filter "FullyQualifiedName~Outbox"
#   --stop   stop the test services afterwards (default: leave them running for fast reruns;
#            with CI=true they are always stopped)
# Exit code: dotnet test's. Last line of output: "N passed, N failed, N skipped".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SVC=scripts/services.sh
STOP=0
ARGS=()
for a in "$@"; do
  case "$a" in
    --stop) STOP=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$a") ;;
  esac
done
[[ "${CI:-}" == true || "${CI:-}" == 1 ]] && STOP=1

say() { printf '[test] %s\n' "$*" >&2; }

if ! command -v dotnet >/dev/null 2>&1; then
  say "dotnet was not found on PATH. Install the .NET 10 SDK (see docs/running-locally.md, Prerequisites) and retry."
  exit 2
fi

stop_services() {
  remove_test_containers
  if ((STOP)); then say "stopping test services"; "$SVC" --profile test stop || true; fi
}
trap 'stop_services; exit 130' INT
trap 'stop_services; exit 143' TERM

t0=$(date +%s)
# PostgreSQL comes from a Testcontainers container (docs/decisions/0012): the engine is installed and started when
# missing, and without a registry the image is built from Debian once and cached. FEEDBACKHUB_TEST_POSTGRES=local skips
# Docker; where no engine can be had, the tests use the local PostgreSQL below and say so.
export FEEDBACKHUB_TEST_RUN="run-$$-$(date +%s)"
remove_test_containers() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || return 0
  local ids; ids="$(docker ps -aq --filter "label=feedbackhub.tests=$FEEDBACKHUB_TEST_RUN" 2>/dev/null || true)"
  [[ -z "$ids" ]] || docker rm -f $ids >/dev/null 2>&1 || true
}
if [[ "${FEEDBACKHUB_TEST_POSTGRES:-}" != local ]]; then
  td=$(date +%s) engine=0
  if scripts/docker.sh engine; then
    engine=1
    if [[ -z "${FEEDBACKHUB_POSTGRES_IMAGE:-}" ]]; then
      if docker image inspect postgres:15 >/dev/null 2>&1 || timeout 300 docker pull -q postgres:15 >/dev/null 2>&1; then
        FEEDBACKHUB_POSTGRES_IMAGE=postgres:15
      else
        say "no registry answers docker pull: using the local PostgreSQL image (built from Debian the first time, then cached)"
        scripts/docker.sh postgres-image && FEEDBACKHUB_POSTGRES_IMAGE=feedbackhub-local/postgres:15
      fi
    fi
  fi
  if ((engine)) && [[ -n "${FEEDBACKHUB_POSTGRES_IMAGE:-}" ]]; then
    export FEEDBACKHUB_TEST_POSTGRES=container FEEDBACKHUB_POSTGRES_IMAGE
    say "PostgreSQL: Testcontainers, image $FEEDBACKHUB_POSTGRES_IMAGE (Docker setup: $(( $(date +%s) - td )) s)"
  else
    export FEEDBACKHUB_TEST_POSTGRES=local
    say "PostgreSQL: no Docker engine could be had; the tests use the local PostgreSQL of scripts/services.sh"
  fi
fi
"$SVC" --profile test install start
# The browser tests (tests/Web.Tests) drive Debian's chromium; Playwright's own browser download cannot work here and is
# never used. Without it they fail, each saying why (never skipped).
CHROMIUM="${FEEDBACKHUB_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  if [[ -z "${FEEDBACKHUB_CHROMIUM:-}" ]] && command -v apt-get >/dev/null && { ((EUID == 0)) || command -v sudo >/dev/null; }; then
    tc=$(date +%s) log="$(mktemp /tmp/feedbackhub-apt-chromium.XXXXXX.log)"
    as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
    say "installing chromium with apt (browser tests)"
    if { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$log" 2>&1; then
      say "chromium installed in $(( $(date +%s) - tc )) s"; rm -f "$log"
    else
      tail -n 20 "$log" >&2; say "apt-get install chromium failed (log: $log): the browser tests will fail"
    fi
  else
    say "chromium is missing at $CHROMIUM and cannot be installed here (needs root or sudo, and apt-get): the browser tests will fail"
  fi
fi
"$SVC" --profile test reset-smtp
eval "$("$SVC" --profile test env)"
export FEEDBACKHUB_PROFILE FEEDBACKHUB_PG FEEDBACKHUB_RABBITMQ FEEDBACKHUB_SMTP_HOST FEEDBACKHUB_SMTP_PORT \
  FEEDBACKHUB_SMTP_DIR FEEDBACKHUB_SERVICES_SCRIPT
say "services ready in $(( $(date +%s) - t0 )) s; FEEDBACKHUB_PG=$FEEDBACKHUB_PG FEEDBACKHUB_RABBITMQ=$FEEDBACKHUB_RABBITMQ SMTP=$FEEDBACKHUB_SMTP_HOST:$FEEDBACKHUB_SMTP_PORT"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDTERMINALLOGGER=off
mkdir -p .local/test/logs
LOG=".local/test/logs/dotnet-test-$(date +%Y%m%d-%H%M%S).log"
ln -sfn "$(basename "$LOG")" .local/test/logs/dotnet-test-last.log
say "dotnet test FeedbackHub.sln -c Release ${ARGS[*]:-} (log: $LOG)"

set +e
# Build in parallel, then run the test assemblies one after another (-m:1): a broker-outage test stops
# the shared RabbitMQ, which must not happen while another assembly's tests use it.
dotnet build FeedbackHub.sln -c Release -nologo -clp:ErrorsOnly 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
# The benchmark programs are not in the solution; build them too, so a change cannot leave them broken.
for bench in bench/delivery/DeliveryBench bench/language/LanguageBench bench/webhooks/WebhookBench bench/erasure/ErasureBench bench/chaos/ChaosBench; do
  if ((rc == 0)); then
    dotnet build "$bench" -c Release -nologo -clp:ErrorsOnly 2>&1 | tee -a "$LOG"
    rc=${PIPESTATUS[0]}
  fi
done
if ((rc == 0)); then
  dotnet test FeedbackHub.sln -c Release --no-build -m:1 --logger "console;verbosity=normal" ${ARGS[@]+"${ARGS[@]}"} 2>&1 | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
fi
set -e

# Per-assembly VSTest summaries, either "Passed!  - Failed: 0, Passed: 42, Skipped: 1, Total: 43, ..."
# or (console logger, normal verbosity) a "Total tests: 43" line followed by "Passed: 42" / "Failed: 0" / "Skipped: 1".
read -r failed passed skipped assemblies < <(
  awk '
    /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
      match($0, /Failed: +[0-9]+/); f += substr($0, RSTART + 7, RLENGTH - 7) + 0
      match($0, /Passed: +[0-9]+/); p += substr($0, RSTART + 7, RLENGTH - 7) + 0
      match($0, /Skipped: +[0-9]+/); s += substr($0, RSTART + 8, RLENGTH - 8) + 0
      n++; block = 0; next
    }
    /^Total tests: +[0-9]+/ { n++; block = 1; next }
    block && /^ +Passed: +[0-9]+ *$/ { p += $2; next }
    block && /^ +Failed: +[0-9]+ *$/ { f += $2; next }
    block && /^ +Skipped: +[0-9]+ *$/ { s += $2; next }
    block && /^ +Total time:/ { block = 0 }
    END { printf "%d %d %d %d\n", f, p, s, n }
  ' "$LOG"
)

stop_services
trap - INT TERM

if ((assemblies == 0)); then
  say "no test results were reported (build failure or test host crash?); see $LOG"
elif ((rc != 0 && failed == 0)); then
  say "dotnet test exited with $rc although no test failed (build error, crash or timeout?); see $LOG"
fi
say "dotnet test exit code $rc; $assemblies test assemblies; $(( $(date +%s) - t0 )) s in total"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
