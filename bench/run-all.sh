#!/usr/bin/env bash
# Every throughput scenario and its physical limit, measured in the same run on this machine, one after the other:
#   save, get     bench/http/run.sh       the API under 64 connections next to pgbench running the same SQL; without
#                                         --quick through bench/http/flatness.sh: at about 10,000 feedback rows in
#                                         the tenant (the save and get lines), again at about 1,000,000 (save@1m,
#                                         get@1m) and the ratio of the two (BENCH flatness)
#   delivery      bench/delivery/run.sh   emails due at once, 1 and 2 worker processes, next to a raw SMTP loop; one
#                                         worker with emails falling due at half the raw loop's rate (delivery-steady);
#                                         without --quick again with a sink that takes 100 ms per message, where each
#                                         process is bound by its connections, not the CPU (delivery-server100ms*)
#   webhooks      bench/webhooks/run.sh   webhook events through the pipeline next to a raw HttpClient loop
#   erasure       bench/erasure/run.sh    the retention sweep next to the same erasure as set-based SQL
# Ends with one line per scenario: BENCH <scenario> ratio=<x> p99_ms=<y> (ratio = FeedbackHub / the limit).
# Usage: bench/run-all.sh [--quick]    (--quick: shorter runs, one round, fewer items, 1,024 rows and no flatness: about 8
#                                      minutes instead of about 30)
# Loopback only, bounded: each bench stops by itself; services it needed and did not find are stopped at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/run-all.sh [--quick]" >&2; exit 2 ;;
  esac
done

if ((quick)); then http=(--duration 8 --warmup 3 --rounds 1); emails=200; events=500; erasures=500
else http=(--duration 20); emails=2000; events=2000; erasures=2000; fi

SERVICES="$root/scripts/services.sh"
. "$root/bench/lib/test-services.sh"
started=0
if ! test_services_running; then
  "$SERVICES" --profile test install start >&2
  started=1
fi
trap '((started)) && "$SERVICES" --profile test stop >&2 || true' EXIT

stamp="$(date -u +%Y-%m-%dT%H%MZ)"
mkdir -p "$here/results"
out="$here/results/run-all-$stamp.md"
{
  echo "# bench/run-all.sh $* ($stamp)"
  echo
  echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
  echo "- commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with uncommitted changes)'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  if ((quick)); then "$here/http/run.sh" "${http[@]}"; else "$here/http/flatness.sh" "${http[@]}"; fi
  echo
  "$here/delivery/run.sh" "$emails"
  echo
  if ((!quick)); then "$here/delivery/run.sh" 1000 --server-delay 100; echo; fi
  "$here/webhooks/run.sh" "$events"
  echo
  "$here/erasure/run.sh" "$erasures"
  echo
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2> >(grep -v '^\[bench\]' >&2) | tee "$out"

echo
echo "## Summary ($stamp, ${out#"$root"/})"
grep -E '^BENCH ' "$out"
