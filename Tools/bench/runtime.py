#!/usr/bin/env python3
"""graft's CPU runtime against TensorFlow-CPU, onnxruntime and OpenVINO, with an OpenBLAS sgemm roofline.

    .venv/bin/python Tools/bench/runtime.py [--models resnet50,mobilenetv2] [--batches 1,8]
                                            [--rounds 5] [--calls 3] [--threads 2] [--graft PATH]

What it does, in one command:
  1. Builds each keras.applications model (224x224x3, include_top=True) with seeded random weights
     and random BatchNormalization statistics, saves it as a legacy Keras .h5 and converts that with
     `graft convert` (the real importer, not a shortcut).
  2. When onnx and onnxruntime are installed, writes the same model as ONNX with this script's own
     small exporter (NCHW convolutions behind one NHWC->NCHW Transpose, BatchNormalization left for
     onnxruntime to fuse, TensorFlow's asymmetric 'same' padding made explicit).
  3. Checks every engine's output against `model.predict` (relative max error, printed).
  4. Times, for R rounds, every (model, batch) pair and every engine, alternating: TensorFlow's
     `model.predict(x, batch_size=b)`, onnxruntime's `InferenceSession.run`, and `graft run` in its
     steady state (one process per round with `--repeat calls+1`; the first run, which plans memory and
     maps the weights, is dropped, just as the other engines are warmed up once before timing). Each
     engine gets `--calls` timed calls per round; an idle pause between engines lets the thread
     pools of the previous one go to sleep.
  5. Measures OpenBLAS sgemm in the same run: cblas_sgemm on 2048x2048x2048 float32 through the very
     libopenblas.so.0 graft links (not numpy's bundled one), with the same thread count, once per
     round; the best is the roofline. graft's effective GFLOP/s is 2 x MACs x batch / time, where MACs
     counts the multiply-accumulates of every convolution and Dense layer (depthwise included).

Prints images/s (best and median over all timed calls) per engine, the ratios graft/TensorFlow and
graft/onnxruntime (best-vs-best and median-vs-median), and graft's fraction of the sgemm roofline.
One TensorFlow job at a time; other processes on the machine skew every figure, so the load
average is printed too.
"""
import argparse
import ctypes
import ctypes.util
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---------------------------------------------------------------------------------------------
# The models


def build(name):
    import keras
    keras.utils.set_random_seed(11)
    if name == "resnet50":
        model = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))
    elif name == "mobilenetv2":
        model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    elif name == "vgg16":
        model = keras.applications.VGG16(weights=None, input_shape=(224, 224, 3))
    elif name == "vgg16-base":
        model = keras.applications.VGG16(weights=None, input_shape=(224, 224, 3), include_top=False, pooling="avg")
    else:
        raise SystemExit(f"runtime.py: unknown model {name!r} (resnet50, mobilenetv2, vgg16, vgg16-base)")
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]
            gamma = rng.uniform(0.8, 1.2, shapes[0])
            beta = rng.normal(0, 0.1, shapes[1])
            mean = rng.normal(0, 0.1, shapes[2])
            variance = rng.uniform(0.8, 1.2, shapes[3])
            layer.set_weights([a.astype(np.float32) for a in (gamma, beta, mean, variance)])
    return model


def inbound_names(layer):
    node = layer._inbound_nodes[0]
    tensors = node.input_tensors
    return [t._keras_history[0].name for t in tensors]


def multiply_accumulates(model):
    """MACs per image of every convolution, depthwise convolution and Dense layer."""
    import keras
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c * kh * kw * layer.kernel.shape[2]
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding along one axis: the odd pixel goes at the end."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def export_onnx(model, path):
    """Writes `model` (the layer types of ResNet50 and MobileNetV2) as an ONNX graph."""
    import keras
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []

    def constant(name, array):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def activation(kind, source, name):
        if kind in ("linear", None):
            return source
        if kind == "relu":
            nodes.append(helper.make_node("Relu", [source], [name]))
        elif kind == "softmax":
            nodes.append(helper.make_node("Softmax", [source], [name], axis=-1))
        else:
            raise SystemExit(f"runtime.py: the ONNX exporter has no activation {kind!r}")
        return name

    input_name = model.inputs[0]._keras_history[0].name
    nodes.append(helper.make_node("Transpose", ["input_nhwc"], [input_name], perm=[0, 3, 1, 2]))
    produced = {}
    for layer in model.layers:
        config = layer.get_config()
        name = layer.name
        if isinstance(layer, keras.layers.InputLayer):
            produced[name] = input_name
            continue
        sources = [produced[n] for n in inbound_names(layer)]
        shape = (layer.input[0] if isinstance(layer.input, list) else layer.input).shape
        height, width = shape[1:3] if len(shape) == 4 else (None, None)
        if isinstance(layer, (keras.layers.DepthwiseConv2D, keras.layers.Conv2D)):
            kh, kw = layer.kernel_size
            sh, sw = layer.strides
            dh, dw = layer.dilation_rate
            kernel = layer.kernel.numpy()
            if isinstance(layer, keras.layers.DepthwiseConv2D):
                channels, multiplier = kernel.shape[2], kernel.shape[3]
                weight = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
                group = channels
            else:
                weight = kernel.transpose(3, 2, 0, 1)
                group = 1
            if config["padding"] == "same":
                top, bottom = same_pads(height, kh, sh, dh)
                left, right = same_pads(width, kw, sw, dw)
            else:
                top = bottom = left = right = 0
            inputs = [sources[0], constant(name + "/W", weight.astype(np.float32))]
            if layer.use_bias:
                inputs.append(constant(name + "/B", layer.bias.numpy().astype(np.float32)))
            out = name + "/conv" if config.get("activation", "linear") != "linear" else name
            nodes.append(helper.make_node("Conv", inputs, [out], kernel_shape=[kh, kw], strides=[sh, sw],
                                          dilations=[dh, dw], pads=[top, left, bottom, right], group=group))
            produced[name] = activation(config.get("activation"), out, name)
        elif isinstance(layer, keras.layers.BatchNormalization):
            weights = dict(zip([w.path.split("/")[-1] for w in layer.weights], layer.get_weights()))
            channels = weights["moving_mean"].shape[0]
            gamma = weights.get("gamma", np.ones(channels, np.float32))
            beta = weights.get("beta", np.zeros(channels, np.float32))
            nodes.append(helper.make_node(
                "BatchNormalization",
                [sources[0], constant(name + "/scale", gamma), constant(name + "/bias", beta),
                 constant(name + "/mean", weights["moving_mean"]), constant(name + "/var", weights["moving_variance"])],
                [name], epsilon=float(config["epsilon"])))
            produced[name] = name
        elif isinstance(layer, keras.layers.Activation):
            produced[name] = activation(config["activation"], sources[0], name)
        elif isinstance(layer, keras.layers.ReLU):
            if config.get("negative_slope", 0) or config.get("threshold", 0):
                raise SystemExit(f"runtime.py: the ONNX exporter has no leaky or thresholded ReLU ({name})")
            if config.get("max_value") is not None:
                nodes.append(helper.make_node("Clip", [sources[0], constant(name + "/min", np.float32(0)),
                                                       constant(name + "/max", np.float32(config["max_value"]))], [name]))
            else:
                nodes.append(helper.make_node("Relu", [sources[0]], [name]))
            produced[name] = name
        elif isinstance(layer, keras.layers.ZeroPadding2D):
            (top, bottom), (left, right) = config["padding"]
            pads = np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)
            nodes.append(helper.make_node("Pad", [sources[0], constant(name + "/pads", pads)], [name], mode="constant"))
            produced[name] = name
        elif isinstance(layer, keras.layers.MaxPooling2D):
            kh, kw = layer.pool_size
            sh, sw = layer.strides
            if config["padding"] == "same":
                top, bottom = same_pads(height, kh, sh)
                left, right = same_pads(width, kw, sw)
            else:
                top = bottom = left = right = 0
            nodes.append(helper.make_node("MaxPool", [sources[0]], [name], kernel_shape=[kh, kw], strides=[sh, sw],
                                          pads=[top, left, bottom, right]))
            produced[name] = name
        elif isinstance(layer, keras.layers.GlobalAveragePooling2D):
            nodes.append(helper.make_node("GlobalAveragePool", [sources[0]], [name + "/pooled"]))
            nodes.append(helper.make_node("Flatten", [name + "/pooled"], [name], axis=1))
            produced[name] = name
        elif isinstance(layer, keras.layers.Flatten):
            # Keras flattens NHWC in (h, w, c) order; the exported graph is NCHW inside.
            nodes.append(helper.make_node("Transpose", [sources[0]], [name + "/nhwc"], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node("Flatten", [name + "/nhwc"], [name], axis=1))
            produced[name] = name
        elif isinstance(layer, keras.layers.Add):
            nodes.append(helper.make_node("Sum", sources, [name]))
            produced[name] = name
        elif isinstance(layer, keras.layers.Dense):
            out = name + "/gemm" if config["activation"] != "linear" else name
            nodes.append(helper.make_node("Gemm", [sources[0], constant(name + "/W", layer.kernel.numpy()),
                                                   constant(name + "/B", layer.bias.numpy())], [out]))
            produced[name] = activation(config["activation"], out, name)
        else:
            raise SystemExit(f"runtime.py: the ONNX exporter has no layer {type(layer).__name__} ({name})")
    output = produced[model.outputs[0]._keras_history[0].name]
    classes = model.outputs[0].shape[-1]
    graph = helper.make_graph(
        nodes, model.name,
        [helper.make_tensor_value_info("input_nhwc", TensorProto.FLOAT, ["batch", 224, 224, 3])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", classes])],
        initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="graft Tools/bench")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    return output


# ---------------------------------------------------------------------------------------------
# The engines


class TensorFlowEngine:
    name = "tensorflow"

    def __init__(self, model):
        self.model = model

    def time(self, x, calls):
        self.model.predict(x, batch_size=len(x), verbose=0)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            self.model.predict(x, batch_size=len(x), verbose=0)
            times.append(time.perf_counter() - start)
        return times

    def output(self, x):
        return self.model.predict(x, batch_size=len(x), verbose=0)


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, path, output, threads):
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.output_name = output

    def time(self, x, calls):
        self.session.run([self.output_name], {"input_nhwc": x})
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            self.session.run([self.output_name], {"input_nhwc": x})
            times.append(time.perf_counter() - start)
        return times

    def output(self, x):
        return self.session.run([self.output_name], {"input_nhwc": x})[0]


def openvino_config(threads, **extra):
    """OpenVINO's CPU plugin settings every bench script uses: one stream, the LATENCY hint, the
    given threads, and f32 pinned (on CPUs with bf16 it would otherwise switch to bf16 by itself)."""
    return {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32", **extra}


class OpenVinoEngine:
    """OpenVINO's CPU plugin on the same ONNX file, with `openvino_config`."""
    name = "openvino"

    def __init__(self, path, threads, batches):
        import openvino as ov
        core = ov.Core()
        self.compiled = {}
        for batch in batches:
            model = core.read_model(path)
            model.reshape([batch, 224, 224, 3])
            self.compiled[batch] = core.compile_model(model, "CPU", openvino_config(threads))
        self.version = ov.__version__

    def time(self, x, calls):
        compiled = self.compiled[x.shape[0]]
        request = compiled.create_infer_request()
        request.infer({0: x})
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            request.infer({0: x})
            times.append(time.perf_counter() - start)
        return times

    def output(self, x):
        return np.asarray(self.compiled[x.shape[0]]({0: x})[0])


class GraftEngine:
    name = "graft"

    def __init__(self, graft, model_path, work, threads, name="graft", options=()):
        self.graft, self.model_path, self.work, self.threads = graft, model_path, work, threads
        self.name, self.options = name, list(options)

    def run(self, input_path, repeat):
        output_path = input_path.replace(".npy", f".{self.name}-out.npy")
        ran = subprocess.run([self.graft, "run", self.model_path, "--input", input_path, "--output", output_path,
                              "--threads", str(self.threads), "--repeat", str(repeat)] + self.options,
                             capture_output=True, text=True)
        if ran.returncode != 0:
            raise SystemExit(f"runtime.py: graft run failed ({ran.returncode}): {ran.stderr.strip()}")
        times = [float(m.group(1)) for m in re.finditer(r"^graft: run \d+: ([0-9.]+) s", ran.stderr, re.M)]
        # `--repeat N` prints the wall time of runs 2..N: the first, which plans memory and
        # touches the mapped weights, is the warm-up.
        if len(times) != repeat - 1:
            raise SystemExit(f"runtime.py: expected {repeat - 1} timings from graft run --repeat {repeat}, got: {ran.stderr.strip()}")
        return times, output_path

    def time(self, input_path, calls):
        return self.run(input_path, calls + 1)[0]

    def output(self, input_path):
        return np.load(self.run(input_path, 1)[1])


# ---------------------------------------------------------------------------------------------
# OpenBLAS


class Sgemm:
    """cblas_sgemm of the libopenblas.so.0 that graft links, called through ctypes."""

    def __init__(self, graft, threads, size=2048):
        library = "libopenblas.so.0"
        linked = subprocess.run(["ldd", graft], capture_output=True, text=True).stdout
        match = re.search(r"libopenblas\.so\.0 => (\S+)", linked)
        if match:
            library = match.group(1)
        self.library_path = library
        self.blas = ctypes.CDLL(library)
        self.blas.openblas_set_num_threads(threads)
        self.blas.openblas_get_corename.restype = ctypes.c_char_p
        self.core = self.blas.openblas_get_corename().decode()
        self.size = size
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((size, size)).astype(np.float32)
        self.b = rng.standard_normal((size, size)).astype(np.float32)
        self.c = np.zeros((size, size), np.float32)
        function = self.blas.cblas_sgemm
        function.restype = None
        function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                             ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                             ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
        self.function = function

    def gflops(self, calls=3):
        n = self.size
        best = float("inf")
        for _ in range(calls + 1):
            start = time.perf_counter()
            self.function(101, 111, 111, n, n, n, 1.0, self.a.ctypes.data, n, self.b.ctypes.data, n, 0.0, self.c.ctypes.data, n)
            best = min(best, time.perf_counter() - start)
        return 2.0 * n * n * n / best / 1e9

    def check(self):
        self.function(101, 111, 111, 64, 64, 64, 1.0, self.a.ctypes.data, self.size, self.b.ctypes.data, self.size,
                      0.0, self.c.ctypes.data, self.size)
        expected = self.a[:64, :64].astype(np.float64) @ self.b[:64, :64]
        return float(np.abs(self.c[:64, :64] - expected).max() / np.abs(expected).max())


# ---------------------------------------------------------------------------------------------


def relative_error(actual, expected):
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="resnet50,mobilenetv2")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3, help="timed calls per engine, batch and round")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--work", default=os.path.join(ROOT, ".build-bench", "runtime"))
    parser.add_argument("--no-onnxruntime", action="store_true")
    parser.add_argument("--no-openvino", action="store_true")
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=PATH [OPTIONS]",
                        help="another graft binary, or the same one with other `graft run` options, to time alongside "
                             "(e.g. before=/path/to/old/graft, or 'bf16=.build/release/graft --precision bf16', "
                             "'exact=.build/release/graft --exact')")
    parser.add_argument("--pause", type=float, default=0.3, help="idle seconds between engines")
    args = parser.parse_args()
    if not os.access(args.graft, os.X_OK):
        raise SystemExit(f"runtime.py: no graft binary at {args.graft}; build it with `swift build -c release --product graft`")
    os.makedirs(args.work, exist_ok=True)

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    have_onnxruntime = False
    if not args.no_onnxruntime:
        try:
            import onnx  # noqa: F401
            import onnxruntime
            have_onnxruntime = True
        except ImportError:
            print("onnxruntime or onnx is not installed: comparing with TensorFlow only "
                  "(Tools/setup-venv.sh installs both)", file=sys.stderr)

    models = args.models.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    sgemm = Sgemm(args.graft, args.threads)
    print(f"OpenBLAS {sgemm.library_path} (core {sgemm.core}), sgemm check rel.err {sgemm.check():.1e}; "
          f"{args.threads} threads; TensorFlow {tf.__version__}"
          + (f"; onnxruntime {onnxruntime.__version__}" if have_onnxruntime else ""))

    setups = {}
    for name in models:
        model = build(name)
        h5_path = os.path.join(args.work, f"{name}.h5")
        model.save(h5_path)
        graft_path = os.path.join(args.work, f"{name}.graft")
        converted = subprocess.run([args.graft, "convert", h5_path, "-o", graft_path], capture_output=True, text=True)
        if converted.returncode != 0:
            raise SystemExit(f"runtime.py: graft convert {h5_path} failed: {converted.stderr.strip()}")
        engines = [TensorFlowEngine(model), GraftEngine(args.graft, graft_path, args.work, args.threads)]
        for extra in args.also:
            label, command = extra.split("=", 1)
            binary, *options = shlex.split(command)
            extra_path = os.path.join(args.work, f"{name}.{label}.graft")
            converted = subprocess.run([binary, "convert", h5_path, "-o", extra_path], capture_output=True, text=True)
            if converted.returncode != 0:
                raise SystemExit(f"runtime.py: {binary} convert {h5_path} failed: {converted.stderr.strip()}")
            engines.append(GraftEngine(binary, extra_path, args.work, args.threads, name=label, options=options))
        if have_onnxruntime:
            onnx_path = os.path.join(args.work, f"{name}.onnx")
            output = export_onnx(model, onnx_path)
            engines.insert(1, OnnxRuntimeEngine(onnx_path, output, args.threads))
            if not args.no_openvino:
                try:
                    engines.insert(2, OpenVinoEngine(onnx_path, args.threads, batches))
                except ImportError:
                    print("openvino is not installed: no OpenVINO figures (pip install openvino)", file=sys.stderr)
        inputs = {}
        for batch in batches:
            x = np.random.default_rng(batch).uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
            path = os.path.join(args.work, f"{name}.input.b{batch}.npy")
            np.save(path, x)
            inputs[batch] = (x, path)
        x, path = inputs[max(batches)]
        expected = engines[0].output(x)
        errors = []
        for engine in engines[1:]:
            actual = engine.output(path if isinstance(engine, GraftEngine) else x)
            errors.append(f"{engine.name} {relative_error(actual, expected):.1e}")
        macs = multiply_accumulates(model)
        print(f"{name}: {macs / 1e9:.2f} GMAC per image; output vs TensorFlow, relative max error: {', '.join(errors)}")
        setups[name] = (engines, inputs, macs)

    samples = {}
    roofline = []
    for round_index in range(args.rounds):
        roofline.append(sgemm.gflops())
        for name in models:
            engines, inputs, _ = setups[name]
            for batch in batches:
                x, path = inputs[batch]
                order = engines[round_index % len(engines):] + engines[:round_index % len(engines)]
                for engine in order:
                    time.sleep(args.pause)
                    times = engine.time(path if isinstance(engine, GraftEngine) else x, args.calls)
                    samples.setdefault((name, batch, engine.name), []).extend(times)
        print(f"round {round_index + 1}/{args.rounds} done, load average {os.getloadavg()[0]:.1f}", file=sys.stderr)

    peak = max(roofline)
    print(f"\nsgemm {sgemm.size}^3: best {peak:.1f} GFLOP/s, median {statistics.median(roofline):.1f} over {len(roofline)} rounds")
    print(f"{'model':<12} {'batch':>5}  {'engine':<12} {'img/s best':>10} {'median':>8}   graft ratio best (median)")
    summary = []
    peers = {"onnxruntime", "openvino"}
    for name in models:
        engines, _, macs = setups[name]
        for batch in batches:
            rates = {}
            for engine in engines:
                times = samples[(name, batch, engine.name)]
                rates[engine.name] = (batch / min(times), batch / statistics.median(times))
            for engine in engines:
                best, median = rates[engine.name]
                if isinstance(engine, GraftEngine):
                    gflops = 2.0 * macs * best / 1e9
                    note = f"{gflops:.1f} GFLOP/s effective = {gflops / peak:.0%} of sgemm"
                    if engine.name != "graft":
                        ratio = rates["graft"][0] / best, rates["graft"][1] / median
                        note += f"; graft/{engine.name} {ratio[0]:.2f}x ({ratio[1]:.2f}x)"
                        summary.append(f"{name} batch {batch}: graft/{engine.name} {ratio[0]:.2f}x best, {ratio[1]:.2f}x median")
                else:
                    ratio = rates["graft"][0] / best, rates["graft"][1] / median
                    note = f"{ratio[0]:.2f}x ({ratio[1]:.2f}x)"
                    summary.append(f"{name} batch {batch}: graft/{engine.name} {ratio[0]:.2f}x best, {ratio[1]:.2f}x median")
                print(f"{name:<12} {batch:>5}  {engine.name:<12} {best:>10.1f} {median:>8.1f}   {note}")
            present = [e.name for e in engines if e.name in peers]
            if present:
                fastest_best = max(rates[p][0] for p in present)
                fastest_median = max(rates[p][1] for p in present)
                summary.append(f"{name} batch {batch}: graft/fastest peer ({'/'.join(present)}) "
                               f"{rates['graft'][0] / fastest_best:.2f}x best, {rates['graft'][1] / fastest_median:.2f}x median")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
