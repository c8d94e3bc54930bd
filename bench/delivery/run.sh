#!/usr/bin/env bash
# Delivery throughput: N approved deliveries due at once, sent by 1 and 2 real worker processes, next to a raw SMTP
# send loop (the worker's NoDelay SMTP client, 8 connections) against the same sink, in the same run.
# Needs the services running (scripts/services.sh --profile test start). Usage: bench/delivery/run.sh [N] (default 500)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-500}"
profile="${FEEDBACKHUB_PROFILE:-test}"
services="${FEEDBACKHUB_SERVICES_SCRIPT:-$root/scripts/services.sh}" # the script of the checkout whose services run
eval "$("$services" --profile "$profile" env)"
export FEEDBACKHUB_PG FEEDBACKHUB_RABBITMQ FEEDBACKHUB_SMTP_HOST FEEDBACKHUB_SMTP_PORT FEEDBACKHUB_SMTP_DIR

echo "## Machine"
echo
echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "- .NET SDK $(dotnet --version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

dotnet build -c Release "$root/src/Worker" -nologo -v q >/dev/null
dotnet build -c Release "$here/DeliveryBench" -nologo -v q >/dev/null
dotnet "$here/DeliveryBench/bin/Release/net10.0/DeliveryBench.dll" "$n" "$root/src/Worker/bin/Release/net10.0/FeedbackHub.Worker.dll"
echo
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
