#!/usr/bin/env python3
"""Writes the ONNX import fixtures into Tests/GraftONNXImportTests/Fixtures.

Each fixture is a small model built with onnx.helper (seeded random weights), an input batch
and onnxruntime's value of every graph output on it, as .npy files, listed in manifest.json, so
the Swift tests compare graft against onnxruntime without onnxruntime installed. One fixture
per op family, plus a folded shape subgraph, external data, an old opset and models graft must
refuse (unsupported ops, a cut-off file).

Run with the project's venv (Tools/setup-venv.sh): .venv/bin/python Tools/onnx-fixtures/make_fixtures.py
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "GraftONNXImportTests", "Fixtures")
rng = np.random.default_rng(14)
manifest = {}


def weight(name, *shape, scale=0.5):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def value(name, shape):
    """A float tensor value; shape None leaves it to onnx's shape inference."""
    if shape is None:
        return helper.make_empty_tensor_value_info(name)
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def save(name, nodes, inputs, outputs, initializers=(), opset=17, check_outputs=True, external=False, check_model=True):
    """Builds the model, runs onnxruntime on a seeded batch of 2 and records the fixture."""
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="graft-fixtures")
    model.ir_version = 8 if opset < 21 else 10
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in inferred.graph.value_info}
    for output in model.graph.output:
        if not output.HasField("type") and output.name in known:
            output.CopyFrom(known[output.name])
    missing = [o.name for o in model.graph.output if not o.HasField("type")]
    assert not missing, f"{name}: no inferred type for {missing}"
    if check_model:
        onnx.checker.check_model(model)
    path = os.path.join(OUT, f"{name}.onnx")
    if external:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{name}.weights", size_threshold=0)
    else:
        onnx.save_model(model, path)
    shape = [2] + [d.dim_value for d in inputs[0].type.tensor_type.shape.dim][1:]
    x = rng.standard_normal(shape).astype(np.float32)
    np.save(os.path.join(OUT, f"{name}.input.npy"), x)
    entry = {"model": f"{name}.onnx", "input": f"{name}.input.npy", "outputs": {}}
    if check_outputs:
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        results = session.run(names, {inputs[0].name: x})
        for i, (output, result) in enumerate(zip(names, results)):
            file = f"{name}.out{i}.npy"
            np.save(os.path.join(OUT, file), result.astype(np.float32))
            entry["outputs"][output] = file
    manifest[name] = entry
    return path


N = "N"  # the open batch dimension


def convolutions():
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv_pads", pads=[1, 0, 2, 1], strides=[1, 2]),
        helper.make_node("Conv", ["c1", "w2", "b2"], ["c2"], name="conv_group_dilated", group=2, dilations=[2, 1], pads=[2, 1, 2, 1]),
        helper.make_node("Conv", ["c2", "w3"], ["c3"], name="conv_same_upper", auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("Conv", ["c3", "w4", "b4"], ["c4"], name="conv_depthwise_same_lower", auto_pad="SAME_LOWER", group=6),
        helper.make_node("ConvTranspose", ["c4", "wt", "bt"], ["t1"], name="deconv", strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 1]),
        helper.make_node("ConvTranspose", ["c4", "wt2"], ["t2"], name="deconv_group_same", strides=[2, 2], group=2, auto_pad="SAME_UPPER"),
        helper.make_node("Conv", ["x", "w5"], ["c5"], name="conv_valid", auto_pad="VALID", kernel_shape=[3, 3]),
    ]
    inits = [weight("w1", 4, 3, 3, 2), weight("b1", 4), weight("w2", 6, 2, 3, 3), weight("b2", 6), weight("w3", 6, 6, 3, 3),
             weight("w4", 6, 1, 3, 3), weight("b4", 6), weight("wt", 6, 5, 3, 3), weight("bt", 5), weight("wt2", 6, 2, 2, 2),
             weight("w5", 2, 3, 3, 3)]
    save("convolutions", nodes, [value("x", [N, 3, 9, 10])],
         [value(n, None) for n in ["c1", "c2", "c3", "c4", "t1", "t2", "c5"]], inits)


def products():
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "g1", "gb1"], ["fc1"], name="gemm_transB", transB=1),
        helper.make_node("Relu", ["fc1"], ["fc1_relu"], name="relu"),
        helper.make_node("Gemm", ["fc1_relu", "g2", "gb2"], ["fc2"], name="gemm_alpha_beta", alpha=0.5, beta=2.0),
        # Linear on a 4-D value, as torch writes it: Transpose, MatMul, Add.
        helper.make_node("Transpose", ["x"], ["nhwc"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["nhwc", "m1"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "mb1"], ["dense"], name="matmul_bias"),
        helper.make_node("MatMul", ["nhwc", "m2"], ["mm2"], name="matmul_plain"),
    ]
    inits = [weight("g1", 7, 48), weight("gb1", 7), weight("g2", 7, 5), weight("gb2", 1, 5), weight("m1", 3, 6), weight("mb1", 6),
             weight("m2", 3, 2)]
    save("products", nodes, [value("x", [N, 3, 4, 4])], [value(n, None) for n in ["fc1", "fc2", "dense", "mm2"]], inits)


def normalization():
    nodes = [
        helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], ["bn"], name="batchnorm", epsilon=1e-3),
        helper.make_node("Conv", ["x", "wc", "bc"], ["conv"], name="conv"),
        helper.make_node("BatchNormalization", ["conv", "gamma2", "beta2", "mean2", "var2"], ["conv_bn"], name="conv_batchnorm"),
        helper.make_node("Transpose", ["x"], ["nhwc"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("LayerNormalization", ["nhwc", "ln_scale", "ln_bias"], ["ln"], name="layernorm", axis=-1, epsilon=1e-6),
        helper.make_node("Transpose", ["ln"], ["ln_nchw"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("LayerNormalization", ["x", "ln2_scale"], ["ln2"], name="layernorm_chw", axis=1),
        helper.make_node("Softmax", ["x"], ["softmax_last"], name="softmax_last"),
        helper.make_node("Softmax", ["x"], ["softmax_channels"], name="softmax_channels", axis=1),
    ]
    var = np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5
    var2 = np.abs(rng.standard_normal(5)).astype(np.float32) + 0.5
    inits = [weight("gamma", 4), weight("beta", 4), weight("mean", 4), numpy_helper.from_array(var, "var"),
             weight("wc", 5, 4, 3, 3), weight("bc", 5), weight("gamma2", 5), weight("beta2", 5), weight("mean2", 5),
             numpy_helper.from_array(var2, "var2"), weight("ln_scale", 4), weight("ln_bias", 4), weight("ln2_scale", 4, 6, 6)]
    save("normalization", nodes, [value("x", [N, 4, 6, 6])],
         [value(n, None) for n in ["bn", "conv_bn", "ln_nchw", "ln2", "softmax_last", "softmax_channels"]], inits)


def activations():
    functions = [
        ("Relu", {}), ("LeakyRelu", {"alpha": 0.1}), ("Sigmoid", {}), ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
        ("HardSigmoid", {}), ("HardSwish", {}), ("Tanh", {}), ("Elu", {"alpha": 0.7}), ("Selu", {}), ("Softplus", {}),
        ("Softsign", {}), ("Abs", {}), ("Exp", {}), ("Neg", {}),
    ]
    nodes, outputs = [], []
    for i, (op, attributes) in enumerate(functions):
        nodes.append(helper.make_node(op, ["x"], [f"a{i}"], name=f"{op.lower()}_{i}", **attributes))
        outputs.append(f"a{i}")
    nodes += [
        helper.make_node("PRelu", ["x", "slope"], ["prelu"], name="prelu"),
        helper.make_node("Clip", ["x", "zero", "six"], ["relu6"], name="clip6"),
        helper.make_node("Clip", ["x", "zero", "two"], ["relu2"], name="clip2"),
        helper.make_node("Clip", ["x", "zero"], ["relu_clip"], name="clip_min_only"),
        helper.make_node("Pow", ["x", "two"], ["square"], name="square"),
        helper.make_node("Dropout", ["x"], ["dropped"], name="dropout"),
        helper.make_node("Identity", ["x"], ["same"], name="identity"),
    ]
    outputs += ["prelu", "relu6", "relu2", "relu_clip", "square", "dropped", "same"]
    inits = [weight("slope", 3, 1, 1), floats("zero", 0.0), floats("six", 6.0), floats("two", 2.0)]
    save("activations", nodes, [value("x", [N, 3, 5, 5])], [value(n, None) for n in outputs], inits)
    # Gelu is an op from opset 20 on.
    save("gelu_opset20", [helper.make_node("Gelu", ["x"], ["gelu"], name="gelu"),
                          helper.make_node("Gelu", ["x"], ["gelu_tanh"], name="gelu_tanh", approximate="tanh")],
         [value("x", [N, 3, 5, 5])], [value("gelu", None), value("gelu_tanh", None)], opset=20)


def erf_gelu():
    """GELU written out with Erf in the three groupings exporters use."""
    c = [floats("sqrt2", 1.4142135381698608), floats("inv_sqrt2", 0.7071067690849304), floats("one", 1.0), floats("half", 0.5)]
    nodes = [
        # torch.onnx (TorchScript): ((x · (1 + erf(x/√2))) · 0.5
        helper.make_node("Div", ["x", "sqrt2"], ["d1"], name="ts/div"), helper.make_node("Erf", ["d1"], ["e1"], name="ts/erf"),
        helper.make_node("Add", ["e1", "one"], ["p1"], name="ts/add"), helper.make_node("Mul", ["x", "p1"], ["m1"], name="ts/mul"),
        helper.make_node("Mul", ["m1", "half"], ["gelu_ts"], name="ts/mul_1"),
        # torchlib: x · (0.5 · (1 + erf(x/√2)))
        helper.make_node("Div", ["x", "sqrt2"], ["d2"], name="lib/div"), helper.make_node("Erf", ["d2"], ["e2"], name="lib/erf"),
        helper.make_node("Add", ["e2", "one"], ["p2"], name="lib/add"), helper.make_node("Mul", ["half", "p2"], ["m2"], name="lib/mul"),
        helper.make_node("Mul", ["x", "m2"], ["gelu_lib"], name="lib/mul_1"),
        # (x · 0.5) · (1 + erf(x · 1/√2))
        helper.make_node("Mul", ["x", "inv_sqrt2"], ["d3"], name="alt/scale"), helper.make_node("Erf", ["d3"], ["e3"], name="alt/erf"),
        helper.make_node("Add", ["one", "e3"], ["p3"], name="alt/add"), helper.make_node("Mul", ["x", "half"], ["h3"], name="alt/half"),
        helper.make_node("Mul", ["h3", "p3"], ["gelu_alt"], name="alt/mul"),
    ]
    save("erf_gelu", nodes, [value("x", [N, 4, 3, 3])], [value(n, None) for n in ["gelu_ts", "gelu_lib", "gelu_alt"]], c)


def arithmetic():
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["pooled"], name="squeeze"),
        helper.make_node("Sigmoid", ["pooled"], ["gate"], name="gate"),
        helper.make_node("Mul", ["x", "gate"], ["excited"], name="excite"),          # [N,C,H,W] × [N,C,1,1]
        helper.make_node("Add", ["x", "excited"], ["sum"], name="residual"),
        helper.make_node("Sub", ["gate", "x"], ["difference"], name="broadcast_sub"),
        helper.make_node("Add", ["x", "scalar"], ["plus_scalar"], name="plus_scalar"),
        helper.make_node("Sub", ["scalar", "x"], ["scalar_minus"], name="scalar_minus"),
        helper.make_node("Mul", ["channel", "x"], ["times_channel"], name="times_channel"),  # layer scale
        helper.make_node("Div", ["x", "channel"], ["over_channel"], name="over_channel"),
        helper.make_node("Div", ["x", "scalar"], ["over_scalar"], name="over_scalar"),
        helper.make_node("Div", ["x", "gate"], ["over_gate"], name="over_gate"),          # two computed values, broadcast
        helper.make_node("Add", ["x", "plane"], ["plus_plane"], name="plus_plane"),      # [1,1,H,W]
        helper.make_node("Sub", ["x", "column"], ["minus_column"], name="minus_column"),  # [C,1,W]
        helper.make_node("Max", ["x", "excited"], ["maximum"], name="maximum"),
        helper.make_node("Min", ["x", "gate"], ["minimum"], name="minimum"),
    ]
    inits = [floats("scalar", 1.5), weight("channel", 4, 1, 1), weight("plane", 1, 1, 5, 6), weight("column", 4, 1, 6)]
    save("arithmetic", nodes, [value("x", [N, 4, 5, 6])],
         [value(n, None) for n in ["sum", "difference", "plus_scalar", "scalar_minus", "times_channel", "over_channel", "over_scalar", "over_gate",
                                   "plus_plane", "minus_column", "maximum", "minimum"]], inits)


def pooling():
    nodes = [
        helper.make_node("MaxPool", ["x"], ["max_pads"], name="max_pads", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["x"], ["max_ceil"], name="max_ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("MaxPool", ["x"], ["max_ceil_pads"], name="max_ceil_pads", kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=1),
        helper.make_node("AveragePool", ["x"], ["avg_exclude"], name="avg_exclude", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["x"], ["avg_include"], name="avg_include", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("AveragePool", ["x"], ["avg_ceil"], name="avg_ceil", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        helper.make_node("AveragePool", ["x"], ["avg_same"], name="avg_same", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("MaxPool", ["x"], ["max_default_strides"], name="max_default_strides", kernel_shape=[2, 2]),
        helper.make_node("GlobalAveragePool", ["x"], ["gap"], name="gap"),
        helper.make_node("GlobalMaxPool", ["x"], ["gmp"], name="gmp"),
        helper.make_node("ReduceMean", ["x", "spatial"], ["mean_keep"], name="mean_keep"),
        helper.make_node("ReduceMean", ["x", "spatial"], ["mean_drop"], name="mean_drop", keepdims=0),
    ]
    save("pooling", nodes, [value("x", [N, 3, 9, 8])],
         [value(n, None) for n in ["max_pads", "max_ceil", "max_ceil_pads", "avg_exclude", "avg_include", "avg_ceil", "avg_same",
                                   "max_default_strides", "gap", "gmp", "mean_keep", "mean_drop"]],
         [ints("spatial", [-1, -2])], opset=18)


def shapes():
    nodes = [
        helper.make_node("Reshape", ["x", "to_rows"], ["rows"], name="reshape_zero"),           # [0, 4, -1]
        helper.make_node("Reshape", ["x", "to_flat"], ["flat"], name="reshape_minus_one"),       # [-1, 96]
        helper.make_node("Transpose", ["x"], ["transposed"], name="transpose", perm=[0, 3, 1, 2]),
        helper.make_node("Neg", ["x"], ["negated"], name="negate"),
        helper.make_node("Concat", ["x", "negated"], ["joined"], name="concat", axis=1),
        helper.make_node("Split", ["x", "split_sizes"], ["part1", "part2"], name="split", axis=1),
        helper.make_node("Split", ["x"], ["half1", "half2"], name="split_even", axis=3, num_outputs=2),
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["sliced"], name="slice"),
        helper.make_node("GlobalAveragePool", ["x"], ["gap"], name="gap"),
        helper.make_node("Unsqueeze", ["gap", "axis4"], ["unsqueezed"], name="unsqueeze"),
        helper.make_node("Squeeze", ["gap", "axes23"], ["squeezed"], name="squeeze"),
        helper.make_node("Pad", ["x", "pads", "pad_value"], ["padded"], name="pad"),
        helper.make_node("Resize", ["x", "", "scales2"], ["nearest"], name="resize_nearest", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Resize", ["x", "", "scales2"], ["nearest_half"], name="resize_nearest_half_pixel", mode="nearest"),
        helper.make_node("Resize", ["x", "", "", "sizes"], ["bilinear"], name="resize_bilinear", mode="linear",
                         coordinate_transformation_mode="pytorch_half_pixel"),
        helper.make_node("Flatten", ["x"], ["flattened"], name="flatten"),
    ]
    inits = [ints("to_rows", [0, 4, -1]), ints("to_flat", [-1, 96]), ints("split_sizes", [1, 3]), ints("starts", [1, -3]),
             ints("ends", [3, 100]), ints("axes", [1, 3]), ints("axis4", [4]), ints("axes23", [2, 3]),
             ints("pads", [0, 0, 1, 2, 0, 0, 2, 0]), floats("pad_value", 0.25), floats("scales2", [1, 1, 2, 3]),
             ints("sizes", [2, 4, 8, 12])]
    save("shapes", nodes, [value("x", [N, 4, 4, 6])],
         [value(n, None) for n in ["rows", "flat", "transposed", "joined", "part1", "part2", "half1", "half2", "sliced", "unsqueezed",
                                   "squeezed", "padded", "nearest", "nearest_half", "bilinear", "flattened"]], inits, opset=18)


def shape_subgraph():
    """x.view(x.size(0), -1) as torch exports it with a dynamic batch, plus Constant nodes."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["conv"], ["shape"], name="shape"),
        helper.make_node("Constant", [], ["zero"], name="const_zero", value=numpy_helper.from_array(np.array(0, dtype=np.int64))),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="gather", axis=0),
        helper.make_node("Constant", [], ["axes0"], name="const_axes", value=numpy_helper.from_array(np.array([0], dtype=np.int64))),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"], name="unsqueeze"),
        helper.make_node("Constant", [], ["minus_one"], name="const_minus_one", value=numpy_helper.from_array(np.array([-1], dtype=np.int64))),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["conv", "target"], ["flat"], name="reshape"),
        # The channel count read from the shape: Shape → Gather → Unsqueeze → Concat.
        helper.make_node("Gather", ["shape", "one_index"], ["channels"], name="gather_channels", axis=0),
        helper.make_node("Unsqueeze", ["channels", "axes0"], ["channels1"], name="unsqueeze_channels"),
        helper.make_node("Concat", ["batch1", "channels1", "minus_one"], ["target3"], name="concat3", axis=0),
        helper.make_node("Reshape", ["conv", "target3"], ["rows"], name="reshape3"),
        helper.make_node("Constant", [], ["bias"], name="const_bias", value=numpy_helper.from_array(np.float32([0.5, -1.0, 2.0]).reshape(1, 3, 1))),
        helper.make_node("Add", ["rows", "bias"], ["shifted"], name="add_bias"),
        helper.make_node("Gemm", ["flat", "fc"], ["logits"], name="fc", transB=1),
    ]
    inits = [weight("w", 3, 2, 3, 3), ints("one_index", 1), weight("fc", 5, 3 * 4 * 5)]
    save("shape_subgraph", nodes, [value("x", [N, 2, 4, 5])], [value(n, None) for n in ["flat", "shifted", "logits"]], inits)


def flattened_gather():
    """The identity as_strided the dynamo exporter writes after ConvNeXt's final mean: the value
    flattened across the batch, then gathered back with indices built from Range(0, batch)."""
    nodes = [
        helper.make_node("ReduceMean", ["x", "spatial"], ["mean"], name="mean"),
        helper.make_node("Reshape", ["mean", "minus_one"], ["flat"], name="flatten_all"),
        helper.make_node("Shape", ["x"], ["shape"], name="shape", start=0, end=1),
        helper.make_node("Squeeze", ["shape"], ["batch"], name="batch"),
        helper.make_node("Range", ["zero", "batch", "one"], ["rows"], name="rows"),
        helper.make_node("Mul", ["rows", "channels"], ["row_starts"], name="row_starts"),
        helper.make_node("Unsqueeze", ["row_starts", "axes123"], ["row_starts4"], name="row_starts4"),
        helper.make_node("Add", ["row_starts4", "channel_offsets"], ["indices"], name="indices"),
        helper.make_node("Add", ["indices", "zeros"], ["indices0"], name="indices_plus_zero"),
        helper.make_node("Gather", ["flat", "indices0"], ["as_strided"], name="as_strided", axis=0),
        helper.make_node("Flatten", ["as_strided"], ["features"], name="flatten"),
        helper.make_node("Gemm", ["features", "fc"], ["logits"], name="fc", transB=1),
    ]
    inits = [ints("spatial", [2, 3]), ints("minus_one", [-1]), numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array(1, np.int64), "one"), numpy_helper.from_array(np.array(5, np.int64), "channels"),
             ints("axes123", [1, 2, 3]), numpy_helper.from_array(np.arange(5, dtype=np.int64).reshape(1, 5, 1, 1), "channel_offsets"),
             numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.int64), "zeros"), weight("fc", 3, 5)]
    save("flattened_gather", nodes, [value("x", [N, 5, 3, 4])], [value("logits", None)], inits, opset=18)


def external_data():
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["features"], name="flatten"),
        helper.make_node("Gemm", ["features", "fc", "fcb"], ["logits"], name="fc", transB=1),
    ]
    save("external_data", nodes, [value("x", [N, 3, 6, 6])], [value("logits", None)],
         [weight("w", 8, 3, 3, 3), weight("b", 8), weight("fc", 4, 8), weight("fcb", 4)], external=True)


def far_external_data():
    """External data past 4 GiB into its file, as in a model of several GB: the weights file is
    sparse (holes but for the two tensors), written here only to run onnxruntime and removed; the
    Swift test writes it again from the committed values."""
    offsets = {"w": 0, "fc": 5 * 2**30 + 4096}
    tensors = {"w": (rng.standard_normal((4, 3, 3, 3)) * 0.5).astype(np.float32),
               "fc": (rng.standard_normal((5, 4)) * 0.5).astype(np.float32)}
    initializers = []
    weights_path = os.path.join(OUT, "far_external.weights")
    with open(weights_path, "wb") as f:
        for name, values in tensors.items():
            f.seek(offsets[name])
            f.write(values.tobytes())
            tensor = numpy_helper.from_array(values, name)
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            for key, val in [("location", "far_external.weights"), ("offset", str(offsets[name])), ("length", str(values.nbytes))]:
                entry = tensor.external_data.add()
                entry.key, entry.value = key, val
            initializers.append(tensor)
            np.save(os.path.join(OUT, f"far_external.{name}.npy"), values)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["conv"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["features"], name="flatten"),
        helper.make_node("Gemm", ["features", "fc"], ["logits"], name="fc", transB=1),
    ]
    save("far_external", nodes, [value("x", [N, 3, 5, 5])], [value("logits", None)], initializers, check_model=False)
    os.remove(weights_path)
    manifest["far_external"]["external"] = {"file": "far_external.weights",
                                            "parts": [{"offset": offsets[k], "values": f"far_external.{k}.npy"} for k in tensors]}


def legacy_opset():
    """Opset 11: Split and Squeeze/Unsqueeze axes as attributes, Resize with roi, Softmax over a
    trailing axis, Clip bounds as inputs."""
    nodes = [
        helper.make_node("Split", ["x"], ["a", "b"], name="split", axis=1, split=[2, 2]),
        helper.make_node("Concat", ["b", "a"], ["swapped"], name="concat", axis=1),
        helper.make_node("Resize", ["swapped", "roi", "scales"], ["up"], name="resize", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Clip", ["up", "zero", "six"], ["clipped"], name="clip"),
        helper.make_node("GlobalAveragePool", ["clipped"], ["pool"], name="pool"),
        helper.make_node("Squeeze", ["pool"], ["vector"], name="squeeze", axes=[2, 3]),
        helper.make_node("Unsqueeze", ["vector"], ["again"], name="unsqueeze", axes=[2]),
        helper.make_node("Flatten", ["again"], ["flat"], name="flatten"),
        helper.make_node("Softmax", ["flat"], ["probabilities"], name="softmax", axis=1),
        helper.make_node("Pad", ["x", "pads"], ["padded"], name="pad", mode="constant"),
    ]
    inits = [floats("roi", []), floats("scales", [1, 1, 2, 2]), floats("zero", 0.0), floats("six", 6.0),
             ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])]
    save("legacy_opset11", nodes, [value("x", [N, 4, 3, 3])], [value(n, None) for n in ["probabilities", "padded"]], inits, opset=11)


def refused():
    """Models graft must refuse, with every unsupported node named at once."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], name="conv"),
        helper.make_node("LRN", ["conv"], ["lrn"], name="local_norm", size=4),  # even: not centred
        helper.make_node("Clip", ["conv", "minus_one", "one"], ["clipped"], name="clip_both_sides"),
        helper.make_node("Einsum", ["clipped", "lrn"], ["product"], name="einsum", equation="nchw,nchw->nchw"),
        helper.make_node("TopK", ["x", "k"], ["values", "indices"], name="top_k"),
    ]
    save("unsupported", nodes, [value("x", [N, 2, 4, 4])], [value("product", None), value("values", None)],
         [weight("w", 2, 2, 1, 1), floats("minus_one", -1.0), floats("one", 1.0), ints("k", [2])], check_outputs=False)


def damaged():
    """Files whose tensors claim more than they hold, and a cut-off model: graft must refuse them
    with an error naming the file, without allocating by the claimed sizes."""
    def model_with(tensor, name, **kwargs):
        node = helper.make_node("Conv", ["x", tensor.name], ["y"], name="conv")
        graph = helper.make_graph([node], name, [value("x", [N, 2, 4, 4])], [value("y", [N, 2, 4, 4])], [tensor])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="graft-fixtures")
        model.ir_version = 8
        path = os.path.join(OUT, f"{name}.onnx")
        onnx.save_model(model, path, **kwargs)
        manifest[name] = {"model": f"{name}.onnx", "refused": True}
        return path

    # dims claim 2^40 × 2^30 floats (more than an Int holds); the data holds 16 bytes.
    huge = numpy_helper.from_array(np.zeros((2, 2, 1, 1), np.float32), "w")
    del huge.dims[:]
    huge.dims.extend([1 << 40, 1 << 30, 1, 1])
    model_with(huge, "claimed_dims")
    # dims claim 2×2×3×3 floats; the data holds 2×2×1×1.
    short = numpy_helper.from_array(np.zeros((2, 2, 1, 1), np.float32), "w")
    del short.dims[:]
    short.dims.extend([2, 2, 3, 3])
    model_with(short, "short_data")
    # External data whose length runs past the end of its file.
    outside = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
    outside.data_location = TensorProto.EXTERNAL
    outside.ClearField("raw_data")
    for key, val in [("location", "short_external.weights"), ("offset", "8"), ("length", "16")]:
        entry = outside.external_data.add()
        entry.key, entry.value = key, val
    with open(os.path.join(OUT, "short_external.weights"), "wb") as f:
        f.write(b"\0" * 12)
    model_with(outside, "short_external")
    # External data outside the model's folder.
    escape = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
    escape.data_location = TensorProto.EXTERNAL
    escape.ClearField("raw_data")
    entry = escape.external_data.add()
    entry.key, entry.value = "location", "../escape.weights"
    model_with(escape, "escaping_external")
    # A whole model cut in the middle of its graph.
    with open(os.path.join(OUT, "external_data.onnx"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated.onnx"), "wb") as f:
        f.write(whole[: len(whole) * 2 // 3])
    manifest["truncated"] = {"model": "truncated.onnx", "refused": True}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for make in [convolutions, products, normalization, activations, erf_gelu, arithmetic, pooling, shapes, shape_subgraph,
                 flattened_gather, external_data, far_external_data, legacy_opset, refused, damaged]:
        make()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(manifest)} fixtures to {os.path.relpath(OUT, ROOT)} (onnx {onnx.__version__}, onnxruntime {ort.__version__})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
