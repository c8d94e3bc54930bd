#!/usr/bin/python3
"""Splits the packaged all-MiniLM-L6-v2 ONNX model for `train --encoder minilm-tuned` (issue 14, eighth round).

Writes into OUTDIR:
  minilm-lower.onnx  the model up to the output of its fifth transformer layer (tensor "791": the input of the sixth and
                     last layer), so the training tool can read those token states and run the last layer itself;
  layer5.bin         the last layer's 16 weights as little-endian float32, in the order of LAYER5 below (the order the
                     tool's TransformerLayer reads), each in the layout of the ONNX graph (MatMul weights [in, out]);
  minilm-lower4.onnx and layer4.bin  the same one layer lower (tensor "662", LAYER4), for `train --tune-layers 2`.

The tool fine-tunes that last layer on the labelled sentences; the product can run the tuned weights in the packaged
model unchanged by handing them to ONNX Runtime under the same initializer names (SessionOptions.AddInitializer).
Needs Debian's python3-onnx (apt-get install -y python3-onnx).

With --tuned-layers FILE (a minilm-tuned-layers.bin, half-precision, as the product ships it) it also writes
  minilm-tuned.onnx  the packaged model with those layers in place of its own: what the product runs, as one file
                     (bench/language/int8.sh quantises it).

Usage: tools/LanguageTraining/minilm-kit.py MODEL.onnx OUTDIR [--tuned-layers FILE]   (MODEL.onnx from `LanguageTraining export-encoder`)
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# The input tensor of each layer the tool can tune: the output of the layer below.
LOWER_OUTPUTS = {5: "791", 4: "662"}


def layer_weights(index, matmuls):
    """(initializer name in the packaged model, shape) of one layer's 16 weights, in the order of TransformerLayer and of
    MiniLmTunedLayers.LayerShapes: the graph names the six MatMul weights by number (query, key, value, attention output,
    intermediate, output) and the rest by path."""
    p = f"encoder.layer.{index}."
    q, k, v, o, i, f = matmuls
    return [
        (q, (384, 384)), (p + "attention.self.query.bias", (384,)),
        (k, (384, 384)), (p + "attention.self.key.bias", (384,)),
        (v, (384, 384)), (p + "attention.self.value.bias", (384,)),
        (o, (384, 384)), (p + "attention.output.dense.bias", (384,)),
        (p + "attention.output.LayerNorm.weight", (384,)), (p + "attention.output.LayerNorm.bias", (384,)),
        (i, (384, 1536)), (p + "intermediate.dense.bias", (1536,)),
        (f, (1536, 384)), (p + "output.dense.bias", (384,)),
        (p + "output.LayerNorm.weight", (384,)), (p + "output.LayerNorm.bias", (384,)),
    ]


LAYER4 = layer_weights(4, ("979", "980", "983", "989", "990", "991"))
LAYER5 = layer_weights(5, ("992", "993", "996", "1002", "1003", "1004"))


def with_tuned_layers(model, path):
    """The model with the weights of a minilm-tuned-layers.bin (little-endian float16) in place: the 16 of the last layer
    (LAYER5 order), or the 32 of the last two (LAYER4, then LAYER5)."""
    values = np.fromfile(path, dtype="<f2").astype(np.float32)
    per_layer = sum(int(np.prod(s)) for _, s in LAYER5)
    if values.size not in (per_layer, 2 * per_layer):
        raise SystemExit(f"{path}: {values.size} values, a last layer has {per_layer} (the last two {2 * per_layer})")
    by_name = {t.name: t for t in model.graph.initializer}
    at = 0
    for name, shape in (LAYER5 if values.size == per_layer else LAYER4 + LAYER5):
        n = int(np.prod(shape))
        by_name[name].CopyFrom(numpy_helper.from_array(values[at:at + n].reshape(shape), name))
        at += n
    return model


def main(argv):
    last_layer = None
    if "--tuned-layers" in argv:
        i = argv.index("--tuned-layers")
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
        tuned = with_tuned_layers(onnx.load(model_path), last_layer)
        onnx.save(tuned, os.path.join(out, "minilm-tuned.onnx"))
        print(f"wrote {os.path.join(out, 'minilm-tuned.onnx')} (tuned layers from {last_layer})")
    for index, layer, lower_name in ((5, LAYER5, "minilm-lower.onnx"), (4, LAYER4, "minilm-lower4.onnx")):
        model = onnx.load(model_path)
        weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        with open(os.path.join(out, f"layer{index}.bin"), "wb") as f:
            for name, shape in layer:
                array = weights.get(name)
                if array is None or array.shape != shape:
                    sys.stderr.write(f"{name}: expected {shape}, found {None if array is None else array.shape}: not the packaged model?\n")
                    return 1
                f.write(array.astype("<f4").tobytes())
        # Keep only what the layer's input depends on (the embeddings and the layers below), as the one output.
        output = LOWER_OUTPUTS[index]
        graph = model.graph
        needed, kept = {output}, []
        for node in reversed(graph.node):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(node.input)
        del graph.node[:]
        graph.node.extend(reversed(kept))
        for i in [i for i in graph.initializer if i.name not in needed]:
            graph.initializer.remove(i)
        del graph.output[:]
        graph.output.append(onnx.helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, ["batch", "sequence", 384]))
        lower = os.path.join(out, lower_name)
        onnx.save(model, lower)
        print(f"wrote {lower} and {os.path.join(out, f'layer{index}.bin')} ({sum(np.prod(s) for _, s in layer)} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
