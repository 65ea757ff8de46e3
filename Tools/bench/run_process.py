#!/usr/bin/env python3
"""The whole `graft run` process against one warm TensorFlow `model.predict` call.

    .venv/bin/python Tools/bench/run_process.py [--model resnet50] [--batch 8] [--rounds 7]
        [--threads 2] [--graft .build/release/graft] [--work DIR]

The model is Tools/bench/runtime.py's seeded keras.applications model, saved as .h5 and
converted with `graft convert` beforehand (not timed). Alternating over `--rounds` rounds:

    graft:      the wall time of the process `graft run MODEL.graft --input x.npy --output y.npy
                --batch B --threads T`: start, load and map the weights, plan, one forward pass
                of the batch, write the output, exit;
    tensorflow: one `model.predict(x, batch_size=B, verbose=0)` call in this warm Python process
                (the model built and called once before timing).

Prints each round, best and median of both, the ratio tensorflow/graft (the bar: above 1, the
whole graft process faster than the one call), the load average, and the outputs' agreement.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

from runtime import ROOT, build  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    work = args.work or tempfile.mkdtemp(prefix="graft-run-process-")
    os.makedirs(work, exist_ok=True)
    model = build(args.model)
    h5, graft_model = os.path.join(work, f"{args.model}.h5"), os.path.join(work, f"{args.model}.graft")
    model.save(h5)
    subprocess.run([args.graft, "convert", h5, "-o", graft_model], check=True, capture_output=True)
    x = np.random.default_rng(1).normal(0, 50, (args.batch, 224, 224, 3)).astype(np.float32)
    x_path, y_path = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    np.save(x_path, x)
    command = [args.graft, "run", graft_model, "--input", x_path, "--output", y_path, "--batch", str(args.batch),
               "--threads", str(args.threads)]
    expected = model.predict(x, batch_size=args.batch, verbose=0)  # warm-up
    graft_times, tf_times = [], []
    for round_index in range(args.rounds):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        graft_times.append(time.perf_counter() - start)
        time.sleep(0.3)
        start = time.perf_counter()
        model.predict(x, batch_size=args.batch, verbose=0)
        tf_times.append(time.perf_counter() - start)
        time.sleep(0.3)
        print(f"round {round_index + 1}  graft process {graft_times[-1]:.3f} s  tensorflow predict {tf_times[-1]:.3f} s  "
              f"ratio {tf_times[-1] / graft_times[-1]:.3f}  load average {load:.2f}", flush=True)
    error = float(np.max(np.abs(np.load(y_path) - expected)) / np.max(np.abs(expected)))
    print(f"graft process:      best {min(graft_times):.3f} s  median {statistics.median(graft_times):.3f} s")
    print(f"tensorflow predict: best {min(tf_times):.3f} s  median {statistics.median(tf_times):.3f} s")
    print(f"tensorflow/graft: best {min(tf_times) / min(graft_times):.3f}, median "
          f"{statistics.median(tf_times) / statistics.median(graft_times):.3f} (bar: above 1); "
          f"outputs' relative max difference {error:.1e}")


if __name__ == "__main__":
    main()
