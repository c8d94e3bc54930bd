#!/usr/bin/env bash
# Delivery throughput: N approved deliveries due at once, sent by 1 and 2 real worker processes, next to a raw SMTP
# send loop (the worker's NoDelay SMTP client, 8 connections) against the same sink, in the same run.
# Needs the services running (scripts/services.sh --profile test start).
# Usage: bench/delivery/run.sh [N] [--tls] [--server-delay MS]   (default N 500). --tls: STARTTLS + AUTH against a private
# sink started here (scripts/smtp_sink.py with a self-signed certificate made for the run, on 127.0.0.1:2590, stopped at
# the end); the raw loop and the workers trust that certificate through the development-only switch. --server-delay MS:
# the sink waits MS before answering each of the run's messages, like a real mail server's time per message, so every
# process is bound by its 8 connections rather than by the machine's CPU (how two workers scale when the CPU is not the
# limit).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n=500 tls=0 delay=0
while (($#)); do
  case "$1" in
    --tls) tls=1 ;;
    --server-delay) delay="${2:?--server-delay needs milliseconds}"; shift ;;
    *) n="$1" ;;
  esac
  shift
done
export BENCH_SMTP_DELAY_MS="$delay"
profile="${FEEDBACKHUB_PROFILE:-test}"
services="${FEEDBACKHUB_SERVICES_SCRIPT:-$root/scripts/services.sh}" # the script of the checkout whose services run
eval "$("$services" --profile "$profile" env)"
export FEEDBACKHUB_PG FEEDBACKHUB_RABBITMQ FEEDBACKHUB_SMTP_HOST FEEDBACKHUB_SMTP_PORT FEEDBACKHUB_SMTP_DIR
if ((tls)); then
  sinkdir="$(mktemp -d /tmp/fh-bench-tls.XXXXXX)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$sinkdir/key.pem" -out "$sinkdir/cert.pem" 2>/dev/null
  /usr/bin/python3 "$root/scripts/smtp_sink.py" --host 127.0.0.1 --port 2590 --dir "$sinkdir" --tls-cert "$sinkdir/cert.pem" \
    --tls-key "$sinkdir/key.pem" --require-starttls --auth bench:bench-secret >"$sinkdir/sink.out" 2>&1 &
  sinkpid=$!
  trap 'kill $sinkpid 2>/dev/null; rm -rf "$sinkdir"' EXIT
  for _ in $(seq 50); do grep -q listening "$sinkdir/sink.out" 2>/dev/null && break; sleep 0.1; done
  export FEEDBACKHUB_SMTP_HOST=127.0.0.1 FEEDBACKHUB_SMTP_PORT=2590 FEEDBACKHUB_SMTP_DIR="$sinkdir"
  export BENCH_SMTP_SECURITY=StartTls BENCH_SMTP_USERNAME=bench BENCH_SMTP_PASSWORD=bench-secret
fi

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
