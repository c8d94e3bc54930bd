#!/usr/bin/env bash
# Language checker benchmarks: peer comparison with alex (quality + throughput) and BenchmarkDotNet (MB/s, allocations).
# Usage: bench/language/run.sh [--quick]    (--quick: short BenchmarkDotNet job)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
quick=""
if [[ "${1:-}" == "--quick" ]]; then quick="--quick"; fi

echo "## Machine"
echo
echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "- .NET SDK $(dotnet --version), node $(node --version)"
echo

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
dotnet build -c Release "$root/src/Api" -nologo -v q >/dev/null
dotnet build -c Release "$here/LanguageBench" -nologo -v q >/dev/null

echo "## Peer comparison (FeedbackHub vs alex)"
node "$here/compare.mjs"

echo
echo "## BenchmarkDotNet: LanguageChecker.Check, US pack"
artifacts="$here/BenchmarkDotNet.Artifacts"
dotnet "$here/LanguageBench/bin/Release/net10.0/LanguageBench.dll" $quick --artifacts "$artifacts" >"$artifacts.log" 2>&1 \
  || { tail -50 "$artifacts.log"; exit 1; }
cat "$artifacts"/results/*CheckBenchmarks-report-github.md
