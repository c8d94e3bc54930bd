#!/usr/bin/env bash
# int8 quantisation of all-MiniLM-L6-v2, measured (issue 14, eighth round; docs/language-checker.md).
# 1. Writes the packaged fp32 model to a file and quantises it (tools/LanguageTraining/minilm-files.sh:
#    LanguageTraining export-encoder, then bench/language/quantize-int8.py with Debian's python3-onnx).
# 2. Quality: the shipped head on the validation set, reading embeddings from the shipped model as one fp32 file (the
#    packaged model with the committed fine-tuned layers) and from its int8 quantisation (LanguageTraining evaluate
#    --onnx), with each file's cosine to the shipped embedder's vectors.
# 3. Speed: LanguageBench --encoder for the package, the tuned fp32 file and its int8 file, each in a fresh process, twice,
#    interleaved. Prints the load average around it.
# Usage: bench/language/int8.sh [--reduce-range]   (7-bit weights, for CPUs without VNNI)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
reduce=()
case "${1:-}" in
  "") ;;
  --reduce-range) reduce=(--reduce-range) ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/language/int8.sh [--reduce-range]" >&2; exit 2 ;;
esac
work="${TMPDIR:-/tmp}/feedbackhub-int8"
"$root/tools/LanguageTraining/minilm-files.sh" "$work" ${reduce[@]+"${reduce[@]}"}
cd "$root"
tool=(dotnet run --project tools/LanguageTraining -c Release --no-build --)
ls -l "$work"/minilm-{fp32,int8,tuned,tuned-int8}.onnx | awk '{ printf "%s %.1f MB\n", $NF, $5 / 1048576 }'
echo
for m in tuned tuned-int8; do
  "${tool[@]}" evaluate data/language/validation/validation.jsonl --counts --onnx "$work/minilm-$m.onnx"
  echo
done
dotnet build -c Release "$here/LanguageBench" -nologo -v q >/dev/null
bench="$here/LanguageBench/bin/Release/net10.0/LanguageBench.dll"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
dotnet "$bench" --encoders-header
for encoder in minilm "onnx:$work/minilm-tuned.onnx" "onnx:$work/minilm-tuned-int8.onnx" minilm "onnx:$work/minilm-tuned.onnx" "onnx:$work/minilm-tuned-int8.onnx"; do
  dotnet "$bench" --encoder "$encoder"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
