#!/usr/bin/env bash
# The ONNX files derived from the packaged all-MiniLM-L6-v2 that the eighth round of issue 14 measures
# (docs/language-checker.md), written into DIR (default tools/LanguageTraining/obj/minilm; only derived files, never
# committed):
#   minilm-fp32.onnx    the packaged model itself (LanguageTraining export-encoder)
#   minilm-int8.onnx    its dynamic int8 quantisation (bench/language/quantize-int8.py)
#   minilm-lower.onnx   the model below its last layer, and layer5.bin, that layer's weights (minilm-kit.py; and
#                       minilm-lower4.onnx and layer4.bin one layer lower, for --tune-layers 2), which
#                       `train` (--encoder minilm-tuned) reads
#   minilm-tuned.onnx   the packaged model with the committed fine-tuned layers (what the product runs), and
#   minilm-tuned-int8.onnx  its int8 quantisation
# Installs Debian's python3-onnx with apt when it is missing (as root). Extra arguments go to quantize-int8.py.
# Usage: tools/LanguageTraining/minilm-files.sh [DIR] [--reduce-range]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="$root/tools/LanguageTraining/obj/minilm"
extra=()
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) extra+=("$a") ;;
    *) dir="$a" ;;
  esac
done
if ! /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null; then
  echo "installing python3-onnx (apt) for the ONNX rewrites..."
  if ((EUID == 0)); then apt-get install -y -q python3-onnx >/dev/null; else sudo apt-get install -y -q python3-onnx >/dev/null; fi
fi
mkdir -p "$dir"
cd "$root"
dotnet build tools/LanguageTraining -c Release -nologo -v q >/dev/null
dotnet run --project tools/LanguageTraining -c Release --no-build -- export-encoder "$dir/minilm-fp32.onnx"
/usr/bin/python3 "$root/bench/language/quantize-int8.py" "$dir/minilm-fp32.onnx" "$dir/minilm-int8.onnx" ${extra[@]+"${extra[@]}"}
layers="$root/src/Language.Semantic/Model/minilm-tuned-layers.bin"
/usr/bin/python3 "$here/minilm-kit.py" "$dir/minilm-fp32.onnx" "$dir" --tuned-layers "$layers"
/usr/bin/python3 "$root/bench/language/quantize-int8.py" "$dir/minilm-tuned.onnx" "$dir/minilm-tuned-int8.onnx" ${extra[@]+"${extra[@]}"}
