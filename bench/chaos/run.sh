#!/usr/bin/env bash
# Chaos suite: N feedback emails per fault through the real API, a fault injected while they are being sent (worker
# kill -9, two workers with one killed, RabbitMQ restart, PostgreSQL restart, PostgreSQL down 30 s, SMTP server down
# 30 s, SMTP answering 421 then recovering), then every delivery waited for and the SMTP capture counted per address.
# It runs its own stack: the `chaos` profile of scripts/services.sh (its own ports and .local/chaos/), its own API
# (127.0.0.1:5090) and worker processes. Loopback only, bounded (N <= 1000, 4 minutes per fault), stops by itself.
#
# Usage: bench/chaos/run.sh [--quick] [--n N] [--only fault,fault] [--no-build] [--keep-services]
#   --quick          N = 40 (about 5 to 6 minutes on 2 cores); default N = 150
#   --only           a comma-separated subset, e.g. --only postgres-restart,worker-kill
#   --keep-services  leave the chaos services running afterwards (default: stopped)
#   FH_CHAOS_API_PORT moves the API; FH_PG_PORT etc. move the services (see scripts/services.sh)
# Exit code: 0 when every fault passed (no email lost, no unflagged duplicate, nothing stuck, no API 5xx but the
# 503s of a database outage, no duplicate from a database or broker restart), 1 otherwise, 2 on a setup error.
# The table is printed and saved under bench/chaos/results/<UTC time>.md; process logs in .local/chaos/logs/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
svc="$root/scripts/services.sh"
n=150 only="" build=1 keep=0
while (($#)); do
  case "$1" in
    --quick) n=40; shift ;;
    --n) n="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep-services) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

stop_services() { ((keep)) || "$svc" --profile chaos stop >/dev/null 2>&1 || true; }
trap stop_services EXIT
"$svc" --profile chaos install start
"$svc" --profile chaos reset-smtp
eval "$("$svc" --profile chaos env)"
export FEEDBACKHUB_PG FEEDBACKHUB_RABBITMQ FEEDBACKHUB_SMTP_HOST FEEDBACKHUB_SMTP_PORT FEEDBACKHUB_SMTP_DIR
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
if ((build)); then
  dotnet build -c Release "$root/src/Api" -nologo -v q -clp:ErrorsOnly >/dev/null
  dotnet build -c Release "$root/src/Worker" -nologo -v q -clp:ErrorsOnly >/dev/null
  dotnet build -c Release "$here/ChaosBench" -nologo -v q -clp:ErrorsOnly >/dev/null
fi

logs="$root/.local/chaos/logs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$here/results" "$logs"
. "$root/bench/lib/results-file.sh"
out="$(results_file "$here/results")"
t0=$(date +%s)
set +e
{
  echo "# Chaos run, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- .NET SDK $(dotnet --version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  timeout 3600 dotnet "$here/ChaosBench/bin/Release/net10.0/ChaosBench.dll" --n "$n" ${only:+--only "$only"} \
    --api-dll "$root/src/Api/bin/Release/net10.0/FeedbackHub.Api.dll" --worker-dll "$root/src/Worker/bin/Release/net10.0/FeedbackHub.Worker.dll" \
    --api-port "${FH_CHAOS_API_PORT:-5090}" --services "$svc" --profile chaos --logs "$logs"
  rc=$?
  echo
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - t0 )) s in total; exit code $rc"
  exit $rc
} | tee "$out"
rc=${PIPESTATUS[0]}
set -e
echo "saved: ${out#"$root"/}; logs: ${logs#"$root"/}" >&2
case $rc in 0|1) exit "$rc" ;; *) exit 2 ;; esac
