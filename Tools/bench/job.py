#!/usr/bin/env python3
"""The whole images-to-AUC job, graft against PIL + onnxruntime + scikit-learn, whole processes.

    .venv/bin/python Tools/bench/job.py [--graft .build/release/graft] [--images 240] [--rounds 3]
        [--threads 2] [--work DIR]

Set-up (not timed): `--images` JPEG photos of about 500x375 in 4 classes (Tools/bench/
features_vs_run.py's seeded generator), two thirds in a training folder and one third in a test
folder; a keras.applications ResNet50 with seeded weights and batch-norm statistics, saved as a
legacy Keras .h5; and, for the Python side, the same trunk cut at its penultimate layer (the
global average pool) written as ONNX beforehand by Tools/bench/runtime.py's exporter.

Timed, alternating over `--rounds` rounds, each side as whole processes (wall clock):

    graft:  graft convert model.h5 -o trunk.graft
            graft features trunk.graft train/ -o train.h5      (default feature layer, avg_pool)
            graft features trunk.graft test/ -o test.h5
            graft train train.h5 -o head.graft
            graft predict head.graft test.h5 | graft auc
    python: Tools/bench/job_python.py model.onnx train/ test/   (PIL, onnxruntime, scikit-learn)

graft pays for its `convert`; the Python side gets its ONNX file made beforehand. Both use
`--threads` threads (onnxruntime: intra-op threads, all graph optimisations; graft: --threads on
features and train). Prints each round's seconds, the best and median of each side, the ratio
python/graft (best against best, median against median; the bar is 1.3), both macro AUCs, and
the load average before each round.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

from features_vs_run import ROOT, build_resnet50, write_photos  # noqa: E402


def timed_shell(script):
    start = time.perf_counter()
    ran = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if ran.returncode != 0:
        sys.exit(f"job: failed ({ran.returncode}):\n{script}\n{ran.stderr}")
    return seconds, ran.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--images", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", help="keep everything here (default: a temporary folder, removed)")
    args = parser.parse_args()
    if not os.access(args.graft, os.X_OK):
        sys.exit(f"job: no graft binary at {args.graft}; build one with `swift build -c release --product graft`")
    work = args.work or tempfile.mkdtemp(prefix="graft-job-")
    os.makedirs(work, exist_ok=True)
    try:
        images = os.path.join(work, "images")
        shutil.rmtree(images, ignore_errors=True)
        paths = write_photos(images, args.images)
        for index, path in enumerate(paths):
            split = "test" if index % 3 == 2 else "train"
            target = os.path.join(work, split, os.path.basename(os.path.dirname(path)))
            os.makedirs(target, exist_ok=True)
            os.replace(path, os.path.join(target, os.path.basename(path)))
        import keras
        from runtime import export_onnx
        model = build_resnet50()
        source = os.path.join(work, "model.h5")
        model.save(source)
        trunk = keras.Model(model.inputs, model.get_layer("avg_pool").output)
        onnx_path = os.path.join(work, "trunk.onnx")
        export_onnx(trunk, onnx_path)
        del model, trunk

        w = work
        graft = args.graft
        t = str(args.threads)
        graft_script = (
            f"rm -f {w}/trunk.graft {w}/train.h5 {w}/test.h5 {w}/head.graft && "
            f"'{graft}' convert {w}/model.h5 -o {w}/trunk.graft && "
            f"'{graft}' features {w}/trunk.graft {w}/train -o {w}/train.h5 --threads {t} --quiet && "
            f"'{graft}' features {w}/trunk.graft {w}/test -o {w}/test.h5 --threads {t} --quiet && "
            f"'{graft}' train {w}/train.h5 -o {w}/head.graft --threads {t} --quiet && "
            f"'{graft}' predict {w}/head.graft {w}/test.h5 | '{graft}' auc")
        python_script = f"'{sys.executable}' '{os.path.join(ROOT, 'Tools/bench/job_python.py')}' {w}/trunk.onnx {w}/train {w}/test --threads {t}"
        counts = {split: sum(len(files) for _, _, files in os.walk(os.path.join(work, split))) for split in ("train", "test")}
        print(f"{args.images} JPEGs ({counts['train']} train, {counts['test']} test, 4 classes); ResNet50 224x224; "
              f"{args.threads} threads on {os.cpu_count()} cores; graft {graft}")
        graft_times, python_times = [], []
        graft_auc = python_auc = ""
        for round_index in range(args.rounds):
            load = os.getloadavg()[0]
            seconds, output = timed_shell(graft_script)
            graft_times.append(seconds)
            graft_auc = output.strip().splitlines()
            seconds, output = timed_shell(python_script)
            python_times.append(seconds)
            python_auc = output.strip()
            print(f"round {round_index + 1}  graft {graft_times[-1]:6.2f} s  python {python_times[-1]:6.2f} s  "
                  f"ratio {python_times[-1] / graft_times[-1]:.3f}  load average before {load:.2f}", flush=True)
        print(f"graft  best {min(graft_times):.2f} s  median {statistics.median(graft_times):.2f} s")
        print(f"python best {min(python_times):.2f} s  median {statistics.median(python_times):.2f} s")
        print(f"python/graft: best {min(python_times) / min(graft_times):.3f}, "
              f"median {statistics.median(python_times) / statistics.median(graft_times):.3f} (bar 1.3)")
        print("graft auc:  " + " | ".join(graft_auc))
        print("python:     " + python_auc)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
