#!/usr/bin/env python3
"""Where the time goes, by op family: graft's per-step profile against OpenVINO's per-layer one.

    .venv/bin/python Tools/bench/layer_families.py [--model resnet50] [--batch 8] [--runs 8]
                                                   [--threads 2] [--graft PATH]

Reads the model and input that `Tools/bench/runtime.py` made in `.build-bench/runtime/` (run it
once first): `<model>.graft`, `<model>.onnx`, `<model>.input.b<batch>.npy`. Then, alternating:

  * graft: `GRAFT_PROFILE=1 graft run --repeat runs+1`, which prints every step's wall time; the
    first run (planning) is dropped and each step keeps its best time over the others;
  * OpenVINO (CPU plugin, runtime.py's `openvino_config` with `PERF_COUNT` on):
    `get_profiling_info()` after each call, each layer's best time.

Prints the sum per family, for both engines: 1x1 convolutions, other convolutions (3x3 and the
7x7 input layer), and the rest. On ResNet50 this shows where graft wins (its Winograd 3x3 layers)
and where the two are level (the 1x1 layers run oneDNN's brgconv_1x1 kernels in both). Per-layer
bests add up to a little less than a whole run's best (each layer's luckiest run); use
runtime.py for the ratio the issue names.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runtime import ROOT, openvino_config  # noqa: E402


def graft_families(graft, model, input_path, threads, runs):
    env = dict(os.environ, GRAFT_PROFILE="1")
    with tempfile.TemporaryDirectory() as folder:
        ran = subprocess.run([graft, "run", model, "--input", input_path, "--output", os.path.join(folder, "out.npy"),
                              "--threads", str(threads), "--repeat", str(runs + 1)], capture_output=True, text=True, env=env)
    if ran.returncode != 0:
        raise SystemExit(f"layer_families.py: graft run failed: {ran.stderr.strip()[:300]}")
    best, current, seen = {}, [], 0
    for line in ran.stderr.splitlines():
        step = re.match(r"\s+([0-9.]+) ms  (\S+) (.*)$", line)
        if step and "%" not in line and step.group(2) != "total":
            current.append((step.group(2), step.group(3), float(step.group(1))))
        elif re.match(r"\s+[0-9.]+ ms  total", line):
            seen += 1
            if seen > 1:
                for name, kind, ms in current:
                    key = (name, kind)
                    best[key] = min(best.get(key, ms), ms)
            current = []
    families = collections.defaultdict(float)
    for (name, kind), ms in best.items():
        if "Conv2D" in kind and "1x1" in kind:
            families["1x1 convolutions"] += ms
        elif "Conv2D" in kind:
            families["other convolutions"] += ms
        else:
            families["everything else"] += ms
    return families


def openvino_families(onnx_path, input_path, threads, runs):
    import numpy as np
    import openvino as ov
    core = ov.Core()
    x = np.load(input_path)
    model = core.read_model(onnx_path)
    model.reshape(list(x.shape))
    compiled = core.compile_model(model, "CPU", openvino_config(threads, PERF_COUNT=True))
    request = compiled.create_infer_request()
    request.infer({0: x})
    best = {}
    for _ in range(runs):
        request.infer({0: x})
        for info in request.get_profiling_info():
            ms = info.real_time.total_seconds() * 1000
            key = (info.node_name, info.node_type, info.exec_type)
            best[key] = min(best.get(key, ms), ms)
    families = collections.defaultdict(float)
    for (_, node_type, exec_type), ms in best.items():
        if node_type == "Convolution" and "1x1" in exec_type:
            families["1x1 convolutions"] += ms
        elif node_type == "Convolution":
            families["other convolutions"] += ms
        else:
            families["everything else"] += ms
    return families


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--work", default=os.path.join(ROOT, ".build-bench", "runtime"))
    args = parser.parse_args()
    stem = os.path.join(args.work, args.model)
    input_path = f"{stem}.input.b{args.batch}.npy"
    for path in (stem + ".graft", stem + ".onnx", input_path):
        if not os.path.exists(path):
            raise SystemExit(f"layer_families.py: {path} is missing; run Tools/bench/runtime.py --models {args.model} --batches {args.batch} first")
    results = {"graft": collections.defaultdict(lambda: float("inf")), "openvino": collections.defaultdict(lambda: float("inf"))}
    for _ in range(args.rounds):
        for name, families in (("graft", graft_families(args.graft, stem + ".graft", input_path, args.threads, args.runs)),
                               ("openvino", openvino_families(stem + ".onnx", input_path, args.threads, args.runs))):
            for family, ms in families.items():
                results[name][family] = min(results[name][family], ms)
    load = os.getloadavg()[0]
    print(f"{args.model} batch {args.batch}, {args.threads} threads, sums of per-layer bests (ms), load average {load:.1f}")
    print(f"{'family':24s} {'graft':>9s} {'openvino':>9s}")
    for family in ("1x1 convolutions", "other convolutions", "everything else"):
        print(f"{family:24s} {results['graft'][family]:9.1f} {results['openvino'][family]:9.1f}")
    print(f"{'total':24s} {sum(results['graft'].values()):9.1f} {sum(results['openvino'].values()):9.1f}")


if __name__ == "__main__":
    sys.exit(main())
