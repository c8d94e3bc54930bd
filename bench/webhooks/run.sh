#!/usr/bin/env bash
# Webhook throughput: N events delivered through the real pipeline (raised on save, outbox relay, RabbitMQ, one Release
# worker process, the outbound core's webhook channel) to a loopback receiver, next to a raw HttpClient loop POSTing signed bodies to
# the same receiver with the same concurrency (16). Loopback only, bounded (N <= 20000), stops by itself.
# Needs the services running (scripts/services.sh --profile test start). Usage: bench/webhooks/run.sh [N] (default 500)
# The figures are printed and saved under bench/webhooks/results/<UTC time>.md (-2, -3, ... for more runs in one minute).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-500}"
profile="${FEEDBACKHUB_PROFILE:-test}"
services="${FEEDBACKHUB_SERVICES_SCRIPT:-$root/scripts/services.sh}" # the script of the checkout whose services run
eval "$("$services" --profile "$profile" env)"
export FEEDBACKHUB_PG FEEDBACKHUB_RABBITMQ
mkdir -p "$here/results"
. "$root/bench/lib/results-file.sh"
out="$(results_file "$here/results")"

dotnet build -c Release "$root/src/Worker" -nologo -v q >/dev/null
dotnet build -c Release "$here/WebhookBench" -nologo -v q >/dev/null
{
  echo "# Webhook benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- .NET SDK $(dotnet --version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  timeout 900 dotnet "$here/WebhookBench/bin/Release/net10.0/WebhookBench.dll" "$n" "$root/src/Worker/bin/Release/net10.0/FeedbackHub.Worker.dll"
  echo
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
echo "saved: ${out#"$root"/}" >&2
