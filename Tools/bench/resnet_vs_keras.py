#!/usr/bin/env python3
"""Times graft's CPU runtime against TensorFlow-CPU on the same Keras model and input.

Builds a Keras application model (ResNet50 by default, random weights with random batch-norm
statistics), writes it as .graft with the fixture generator's independent Python encoding of the
spec, runs `model.predict` (warm-up, then the best of several runs), then runs `graft run` (a
release build) the same number of times, and prints both times and the relative max error of
graft's output against Keras's.

graft's time is the whole `graft run` process (mapping the model, folding batch norms, planning,
reading the input, one inference, writing the output), so it overstates the inference alone;
TensorFlow's is the steady-state `predict` call; graft's steady state (one process running the
model `--runs` more times with its plan reused) is printed too. CPU seconds (all threads) are printed too: on a
machine shared with other jobs they compare the work done better than wall time.

Run from the repository root, one TensorFlow job at a time:
  swift build -c release --product graft
  .venv/bin/python Tools/bench/resnet_vs_keras.py [--model resnet50|mobilenetv2] [--batch 8] [--threads 2]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tools", "fixtures"))
sys.argv, _arguments = sys.argv[:1], sys.argv[1:]
import make_op_fixtures as fixtures  # noqa: E402
sys.argv += _arguments
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402


def build(name, batch):
    if name == "resnet50":
        model = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))
    elif name == "mobilenetv2":
        model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    else:
        raise SystemExit(f"unknown model {name}")
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.8, 1.2, gamma.shape).astype(np.float32), rng.normal(0, 0.1, beta.shape).astype(np.float32),
                               rng.normal(0, 0.1, mean.shape).astype(np.float32), rng.uniform(0.8, 1.2, variance.shape).astype(np.float32)])
    return model


def convert(model):
    """The fixture generator's converter, with a final Dense+softmax split into Dense and Softmax."""
    converter = fixtures.KerasGraph.__new__(fixtures.KerasGraph)
    converter.model, converter.layout, converter.string_same, converter.open_spatial = model, "NHWC", False, False
    converter.nodes, converter.weights, converter.flattened_from = [], {}, {}
    converter.inputs = [{"name": model.inputs[0]._keras_history[0].name, "shape": [None, 224, 224, 3], "layout": "NHWC"}]
    outputs = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dense) and layer.get_config()["activation"] == "softmax":
            weights = layer.get_weights()
            source = layer._inbound_nodes[0].input_tensors[0]._keras_history[0].name
            converter.weights[f"{layer.name}/kernel"] = weights[0]
            converter.weights[f"{layer.name}/bias"] = weights[1]
            converter.nodes.append({"name": layer.name + "_logits", "op": "Dense", "inputs": [source], "outputs": [layer.name + "_logits"],
                                    "output_shapes": [[None, weights[0].shape[1]]], "attributes": {"activation": "linear"},
                                    "weights": {"kernel": f"{layer.name}/kernel", "bias": f"{layer.name}/bias"}})
            converter.nodes.append({"name": layer.name, "op": "Softmax", "inputs": [layer.name + "_logits"], "outputs": [layer.name],
                                    "output_shapes": [[None, weights[0].shape[1]]], "attributes": {"axis": -1}})
            outputs = [layer.name]
            continue
        converter.add(layer)
    graph = converter.graph(model.name, outputs or [model.outputs[0]._keras_history[0].name])
    return graph, converter.weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--work", default=os.path.join(ROOT, ".build-bench"))
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    os.makedirs(args.work, exist_ok=True)

    model = build(args.model, args.batch)
    graph, weights = convert(model)
    model_path = os.path.join(args.work, f"{args.model}.graft")
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()}, model_path, metadata={"graft": json.dumps(graph)})
    x = np.random.default_rng(1).uniform(0, 1, (args.batch, 224, 224, 3)).astype(np.float32)
    input_path = os.path.join(args.work, "input.npy")
    np.save(input_path, x)

    model.predict(x, batch_size=args.batch, verbose=0)
    keras_times, keras_cpu = [], []
    for _ in range(args.runs):
        start, cpu = time.perf_counter(), time.process_time()
        expected = model.predict(x, batch_size=args.batch, verbose=0)
        keras_times.append(time.perf_counter() - start)
        keras_cpu.append(time.process_time() - cpu)

    output_path = os.path.join(args.work, "output.npy")
    graft_times, graft_cpu = [], []
    for _ in range(args.runs):
        start, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([args.graft, "run", model_path, "--input", input_path, "--output", output_path, "--threads", str(args.threads)], check=True)
        graft_times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        graft_cpu.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
    # Steady state: one process, the session reused (the first run plans memory).
    repeated = subprocess.run([args.graft, "run", model_path, "--input", input_path, "--output", output_path,
                               "--threads", str(args.threads), "--repeat", str(args.runs + 1)],
                              check=True, capture_output=True, text=True).stderr
    steady = [float(line.split(":")[-1].split()[0]) for line in repeated.splitlines() if line.startswith("graft: run ")]
    result = np.load(output_path)
    error = np.abs(result - expected).max() / np.abs(expected).max()
    keras_best, graft_best = min(keras_times), min(graft_times)
    print(f"{args.model} batch {args.batch}, {args.threads} threads")
    print(f"  keras predict   best {keras_best:.3f} s   all {', '.join(f'{t:.3f}' for t in keras_times)}   cpu {', '.join(f'{t:.2f}' for t in keras_cpu)} s")
    print(f"  graft run       best {graft_best:.3f} s   all {', '.join(f'{t:.3f}' for t in graft_times)}   cpu {', '.join(f'{t:.2f}' for t in graft_cpu)} s  (whole process)")
    print(f"  load average    {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes skew both timings)")
    print(f"  graft session   best {min(steady):.3f} s   all {', '.join(f'{t:.3f}' for t in steady)}  (same process, plan reused)")
    print(f"  speed-up        {keras_best / min(steady):.2f}x steady state, {keras_best / graft_best:.2f}x whole process")
    print(f"  relative max error of graft's output: {error:.2e}")


if __name__ == "__main__":
    main()
