#!/usr/bin/env bash
# Cost of each sentence encoder on its own (issue 14, sixth round): all-MiniLM-L6-v2 (shipped) vs snowflake-arctic-embed-xs.
# Each row comes from a fresh process (LanguageBench --encoder NAME): package DLL size, load time, memory added, sentences/s
# on one core, one-sentence latency and a 2,000-character answer with nothing cached. Prints the load average around it.
# Usage: bench/language/encoders.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/language/encoders.sh" >&2; exit 2 ;;
esac
dotnet build -c Release -p:Arctic=true "$here/LanguageBench" -nologo -v q >/dev/null
bench="$here/LanguageBench/bin/Release/net10.0/LanguageBench.dll"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
dotnet "$bench" --encoders-header
for encoder in minilm arctic minilm arctic; do
  dotnet "$bench" --encoder "$encoder"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
