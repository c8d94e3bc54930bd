#!/usr/bin/python3
"""Splits the packaged all-MiniLM-L6-v2 ONNX model for `train --encoder minilm-tuned` (issue 14, eighth round).

Writes into OUTDIR:
  minilm-lower.onnx  the model up to the output of its fifth transformer layer (tensor "791": the input of the sixth and
                     last layer), so the training tool can read those token states and run the last layer itself;
  layer5.bin         the last layer's 16 weights as little-endian float32, in the order of LAYER5 below (the order the
                     tool's TransformerLayer reads), each in the layout of the ONNX graph (MatMul weights [in, out]).

The tool fine-tunes that last layer on the labelled sentences; the product can run the tuned weights in the packaged
model unchanged by handing them to ONNX Runtime under the same initializer names (SessionOptions.AddInitializer).
Needs Debian's python3-onnx (apt-get install -y python3-onnx).

With --last-layer FILE (a minilm-last-layer.bin, half-precision, as the product ships it) it also writes
  minilm-tuned.onnx  the packaged model with that last layer in place of its own: what the product runs, as one file
                     (bench/language/int8.sh quantises it).

Usage: tools/LanguageTraining/minilm-kit.py MODEL.onnx OUTDIR [--last-layer FILE]   (MODEL.onnx from `LanguageTraining export-encoder`)
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

LOWER_OUTPUT = "791"
# (initializer name in the packaged model, shape)
LAYER5 = [
    ("992", (384, 384)), ("encoder.layer.5.attention.self.query.bias", (384,)),
    ("993", (384, 384)), ("encoder.layer.5.attention.self.key.bias", (384,)),
    ("996", (384, 384)), ("encoder.layer.5.attention.self.value.bias", (384,)),
    ("1002", (384, 384)), ("encoder.layer.5.attention.output.dense.bias", (384,)),
    ("encoder.layer.5.attention.output.LayerNorm.weight", (384,)), ("encoder.layer.5.attention.output.LayerNorm.bias", (384,)),
    ("1003", (384, 1536)), ("encoder.layer.5.intermediate.dense.bias", (1536,)),
    ("1004", (1536, 384)), ("encoder.layer.5.output.dense.bias", (384,)),
    ("encoder.layer.5.output.LayerNorm.weight", (384,)), ("encoder.layer.5.output.LayerNorm.bias", (384,)),
]


def with_last_layer(model, path):
    """The model with the 16 weights of a minilm-last-layer.bin (little-endian float16, LAYER5 order) in place."""
    values = np.fromfile(path, dtype="<f2").astype(np.float32)
    expected = sum(int(np.prod(s)) for _, s in LAYER5)
    if values.size != expected:
        raise SystemExit(f"{path}: {values.size} values, a last layer has {expected}")
    by_name = {t.name: t for t in model.graph.initializer}
    at = 0
    for name, shape in LAYER5:
        n = int(np.prod(shape))
        by_name[name].CopyFrom(numpy_helper.from_array(values[at:at + n].reshape(shape), name))
        at += n
    return model


def main(argv):
    last_layer = None
    if "--last-layer" in argv:
        i = argv.index("--last-layer")
        if i + 1 >= len(argv):
            sys.stderr.write(__doc__.split("Usage: ")[1])
            return 2
        last_layer = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if len(argv) != 2:
        sys.stderr.write(__doc__.split("Usage: ")[1])
        return 2
    model_path, out = argv
    os.makedirs(out, exist_ok=True)
    if last_layer:
        tuned = with_last_layer(onnx.load(model_path), last_layer)
        onnx.save(tuned, os.path.join(out, "minilm-tuned.onnx"))
        print(f"wrote {os.path.join(out, 'minilm-tuned.onnx')} (last layer from {last_layer})")
    model = onnx.load(model_path)
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    with open(os.path.join(out, "layer5.bin"), "wb") as f:
        for name, shape in LAYER5:
            array = weights.get(name)
            if array is None or array.shape != shape:
                sys.stderr.write(f"{name}: expected {shape}, found {None if array is None else array.shape}: not the packaged model?\n")
                return 1
            f.write(array.astype("<f4").tobytes())
    # Keep only what "791" depends on (the embeddings and the first five layers), with "791" as the one output.
    graph = model.graph
    needed, kept = {LOWER_OUTPUT}, []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    for i in [i for i in graph.initializer if i.name not in needed]:
        graph.initializer.remove(i)
    del graph.output[:]
    graph.output.append(onnx.helper.make_tensor_value_info(LOWER_OUTPUT, onnx.TensorProto.FLOAT, ["batch", "sequence", 384]))
    lower = os.path.join(out, "minilm-lower.onnx")
    onnx.save(model, lower)
    print(f"wrote {lower} and {os.path.join(out, 'layer5.bin')} ({sum(np.prod(s) for _, s in LAYER5)} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
