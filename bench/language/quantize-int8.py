#!/usr/bin/python3
"""Dynamic int8 quantisation of the packaged all-MiniLM-L6-v2 ONNX model (issue 14: "consider int8 quantisation and
measure it").

Every MatMul whose second input is a constant 2-D weight becomes ONNX Runtime's DynamicQuantizeMatMul (com.microsoft
domain): the weight is stored as int8 with one symmetric scale per output column (zero point 0), and the activations are
quantised to uint8 at run time, per call. This is what onnxruntime.quantization.quantize_dynamic does with
per_channel=True and QInt8 weights; that package is Python from PyPI, which these machines cannot reach, so the rewrite
is done here with Debian's python3-onnx (apt-get install -y python3-onnx). Everything else (the token embedding table,
LayerNorm, softmax, GELU) stays fp32.

--reduce-range keeps the weights to 7 bits (-63..63), which avoids the int16 saturation of the u8s8 kernels on CPUs
without VNNI; this machine has AVX-512 VNNI, so the default is the full 8 bits.

Usage: bench/language/quantize-int8.py IN.onnx OUT.onnx [--reduce-range]
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def quantize(model, reduce_range):
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    uses = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    limit = 63.0 if reduce_range else 127.0
    nodes, rewritten, kept = [], 0, 0
    for node in graph.node:
        w = weights.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.data_type != onnx.TensorProto.FLOAT:
            nodes.append(node)
            kept += node.op_type == "MatMul"
            continue
        array = numpy_helper.to_array(w).astype(np.float32)
        scale = np.abs(array).max(axis=0) / limit
        scale[scale == 0] = 1.0
        q = np.clip(np.rint(array / scale), -limit, limit).astype(np.int8)
        base = w.name + "_int8"
        graph.initializer.extend([
            numpy_helper.from_array(q, base),
            numpy_helper.from_array(scale.astype(np.float32), base + "_scale"),
            numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), base + "_zero_point"),
        ])
        nodes.append(helper.make_node(
            "DynamicQuantizeMatMul", [node.input[0], base, base + "_scale", base + "_zero_point"], list(node.output),
            name=(node.name or base) + "_quant", domain="com.microsoft"))
        uses[w.name] -= 1
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    unused = [i for i in graph.initializer if uses.get(i.name, 1) == 0]
    for i in unused:
        graph.initializer.remove(i)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return rewritten, kept


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2 or any(a not in ("--reduce-range",) for a in argv if a.startswith("--")):
        sys.stderr.write(__doc__.split("Usage: ")[1])
        return 2
    model = onnx.load(args[0])
    rewritten, kept = quantize(model, "--reduce-range" in argv)
    onnx.save(model, args[1])
    print(f"{args[1]}: {rewritten} MatMul weights quantised to int8 per column ({kept} MatMul left fp32)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
