#!/usr/bin/env python3
"""Times graft against OpenCV dnn on Caffe zoo nets with the same weights and input.

    .venv/bin/python Tools/bench/caffe_vs_opencv.py [--nets resnet50 googlenet] [--batches 1 8]
                                                    [--threads 2] [--runs 5] [--work /tmp/graft-caffe-zoo]

It uses the prototxts, seeded caffemodels and converted .graft files that `Tools/caffe-zoo`
leaves in --work (run that first). For each net and batch size, alternating in one command:
OpenCV dnn 4.x (`cv2.dnn.readNetFromCaffe`, default backend, `cv2.setNumThreads(threads)`),
warm-up then the best and median of --runs `net.forward()` calls; then graft (release build,
one `graft run --repeat` process: a warm-up run, then --runs timed runs with the plan reused),
best and median. Prints images/s for both and the ratio graft/OpenCV, and the relative max
error of graft's output against OpenCV's on the same batch.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO = "/work/shared/zoo/caffe"


def opencv_times(prototxt, caffemodel, batch, runs, threads):
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    net.setInput(batch)
    output = net.forward()
    times = []
    for _ in range(runs):
        net.setInput(batch)
        start = time.perf_counter()
        net.forward()
        times.append(time.perf_counter() - start)
    return times, output


def graft_times(graft, model, batch, runs, threads, work):
    x_path = os.path.join(work, "bench-input.npy")
    y_path = os.path.join(work, "bench-output.npy")
    np.save(x_path, batch)
    ran = subprocess.run([graft, "run", model, "--input", x_path, "--output", y_path,
                          "--threads", str(threads), "--repeat", str(runs + 1)],
                         capture_output=True, text=True, check=True)
    times = [float(t) for t in re.findall(r"run \d+: ([\d.]+) s", ran.stderr)][1:]
    return times, np.load(y_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", nargs="+", default=["resnet50", "googlenet"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", default="/tmp/graft-caffe-zoo")
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    arguments = parser.parse_args()
    print(f"graft vs OpenCV {cv2.__version__} dnn, {arguments.threads} threads, best/median of {arguments.runs}; "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in arguments.nets:
        prototxt = os.path.join(ZOO, name + ".prototxt")
        caffemodel = os.path.join(arguments.work, name + ".caffemodel")
        model = os.path.join(arguments.work, name + ".graft")
        if not os.path.exists(model):
            sys.exit(f"{model} is missing: run Tools/caffe-zoo first")
        single = np.load(os.path.join(arguments.work, name + ".input.npy"))[:1]
        for size in arguments.batches:
            batch = np.ascontiguousarray(np.repeat(single, size, axis=0) + np.linspace(0, 0.01, size, dtype=np.float32)[:, None, None, None])
            cv_times, cv_out = opencv_times(prototxt, caffemodel, batch, arguments.runs, arguments.threads)
            g_times, g_out = graft_times(arguments.graft, model, batch, arguments.runs, arguments.threads, arguments.work)
            error = float(np.abs(g_out - cv_out).max() / np.abs(cv_out).max())
            cv_best, g_best = min(cv_times), min(g_times)
            cv_med, g_med = statistics.median(cv_times), statistics.median(g_times)
            print(f"{name:<10} batch {size}: OpenCV {size / cv_best:7.1f} img/s (median {size / cv_med:7.1f})   "
                  f"graft {size / g_best:7.1f} img/s (median {size / g_med:7.1f})   "
                  f"ratio {cv_best / g_best:.2f}x best, {cv_med / g_med:.2f}x median   rel.err {error:.1e}", flush=True)


if __name__ == "__main__":
    main()
