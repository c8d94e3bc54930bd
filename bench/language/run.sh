#!/usr/bin/env bash
# Language checker benchmarks: holdout quality (rules vs full), peer comparison with alex (quality + throughput),
# the full engine's load/memory/speed/latency, and BenchmarkDotNet for the rules (MB/s, allocations).
# Usage: bench/language/run.sh [--quick]    (--quick: short BenchmarkDotNet job)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
quick=""
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/language/run.sh [--quick]" >&2; exit 2 ;;
  esac
done

echo "## Machine"
echo
echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "- .NET SDK $(dotnet --version), node $(node --version)"
echo

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
dotnet build -c Release "$root/src/Api" -nologo -v q >/dev/null
dotnet build -c Release "$here/LanguageBench" -nologo -v q >/dev/null

dotnet build -c Release "$root/tools/LanguageTraining" -nologo -v q >/dev/null

echo "## Holdout quality: rules alone vs full (rules + sentence model), US pack, per category"
echo
for set in data/language/holdout/holdout3.jsonl data/language/holdout/holdout.jsonl tests/Domain.Tests/Language/holdout.jsonl; do
  (cd "$root" && dotnet tools/LanguageTraining/bin/Release/net10.0/LanguageTraining.dll evaluate "$set" --counts)
  echo
done

echo "## Peer comparison (FeedbackHub rules / full vs alex)"
node "$here/compare.mjs"

echo
echo "## Full engine: load, memory, sentences/s, live-check latency (stopwatch)"
echo
dotnet "$here/LanguageBench/bin/Release/net10.0/LanguageBench.dll" --semantic

echo
echo "## Rules only: MB/s (stopwatch; the BenchmarkDotNet run below is the reference)"
echo
dotnet "$here/LanguageBench/bin/Release/net10.0/LanguageBench.dll" --smoke

echo
echo "## BenchmarkDotNet: LanguageChecker.Check, US pack"
artifacts="$here/BenchmarkDotNet.Artifacts"
dotnet "$here/LanguageBench/bin/Release/net10.0/LanguageBench.dll" $quick --artifacts "$artifacts" >"$artifacts.log" 2>&1 \
  || { tail -50 "$artifacts.log"; exit 1; }
cat "$artifacts"/results/*CheckBenchmarks-report-github.md
