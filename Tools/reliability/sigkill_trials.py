#!/usr/bin/env python3
"""SIGKILL at random moments during `graft features`, then resume: the result must equal an
uninterrupted run (issue: reliability, item 4). Each trial starts a fresh cache, kills the run
with SIGKILL from 1 to 3 times (the first at a moment drawn uniformly from the first 90 % of
the uninterrupted run's duration, later ones from its first 40 %, as a resumed run has less
left to do), then lets a last run finish, and compares every committed dataset element for element
with the reference cache (rows sliced by the `rows`, `failed_start` and `failed_rows`
attributes, as schemas/feature-cache.md tells readers to). The file's bytes may differ.

Usage (from the repository, with the venv's h5py):
  swift build -c release --product graft
  .venv/bin/python Tools/reliability/sigkill_trials.py --graft .build/release/graft [--trials 20]
Prints one line per trial and a summary; exits 1 if any trial's cache differs.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(REPO, "Tests/GraftFeatureExtractionTests/Fixtures/tiny.graft")
PHOTOS = os.path.join(REPO, "Tests/GraftFeatureExtractionTests/Fixtures/images")
BROKEN = os.path.join(REPO, "Tests/GraftFeatureExtractionTests/Fixtures/odd")


def make_images(folder, copies):
    """`copies` hard links to each fixture photo in its class folder, plus three broken files."""
    for class_name in sorted(os.listdir(PHOTOS)):
        source = os.path.join(PHOTOS, class_name)
        if not os.path.isdir(source):
            continue
        os.makedirs(os.path.join(folder, class_name))
        for name in sorted(os.listdir(source)):
            for copy in range(copies):
                os.link(os.path.join(source, name), os.path.join(folder, class_name, f"{copy}-{name}"))
    for name in ["empty.jpg", "text.jpg", "truncated.jpg"]:
        shutil.copy(os.path.join(BROKEN, name), os.path.join(folder, name))


def committed(path):
    """Every committed dataset of the cache at `path`, as numpy arrays, and the root attributes
    that describe the data (not the creation time or the input list's run)."""
    out = {}
    with h5py.File(path, "r") as f:
        rows = int(f.attrs["rows"])
        start, failed = int(f.attrs["failed_start"]), int(f.attrs["failed_rows"])
        out["ids"] = f["ids"].asstr()[:rows]
        out["labels"] = f["labels"][:rows]
        out["classes"] = f["classes"].asstr()[:]
        for name in f["features"]:
            out["features/" + name] = f["features/" + name][:rows]
        # Failures are a set (a resumed run records them in its own order), one record each.
        failed_ids = list(f["failed/ids"].asstr()[start:start + failed])
        failed_reasons = list(f["failed/reasons"].asstr()[start:start + failed])
        out["failed"] = sorted(zip(failed_ids, failed_reasons))
        for attribute in ["layers", "pool", "preprocessing", "model_sha256", "numerics"]:
            if attribute in f.attrs:
                value = f.attrs[attribute]
                out["attr " + attribute] = value.tolist() if hasattr(value, "tolist") else value
    return out


def differences(actual, expected):
    problems = []
    for key in sorted(set(actual) | set(expected)):
        if key not in actual or key not in expected:
            problems.append(f"{key} present in only one cache")
            continue
        a, b = actual[key], expected[key]
        if isinstance(a, np.ndarray):
            if a.shape != b.shape or not np.array_equal(a, b):
                problems.append(f"{key} differs (shape {a.shape} vs {b.shape})")
        elif a != b:
            problems.append(f"{key} differs")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graft", required=True, help="the graft binary (a release build)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--copies", type=int, default=60, help="links per fixture photo (more: a longer run to kill)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the kill times (default: random, printed)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="graft-sigkill-")
    try:
        images = os.path.join(work, "images")
        make_images(images, args.copies)
        command = [args.graft, "features", MODEL, images, "--preprocess", "keras-tf", "--batch", "3",
                   "--threads", "2", "--quiet"]
        reference = os.path.join(work, "reference.h5")
        began = time.monotonic()
        subprocess.run(command + ["-o", reference], check=True, stdout=subprocess.DEVNULL)
        duration = time.monotonic() - began
        expected = committed(reference)
        print(f"seed {seed}; {len(expected['ids'])} rows, {len(expected['failed'])} failures; "
              f"uninterrupted run {duration:.2f} s; load average {os.getloadavg()[0]:.2f}")
        print("trial  kills  kill times (s)            runs  result")
        failures = killed_trials = total_kills = 0
        for trial in range(1, args.trials + 1):
            cache = os.path.join(work, f"trial{trial}.h5")
            times, runs = [], 0
            for kill in range(rng.randint(1, 3)):
                # The first run starts from nothing and takes about `duration`; a resumed run has
                # less left to do, so later kills come earlier.
                moment = rng.uniform(0.0, 0.9 * duration if kill == 0 else 0.4 * duration)
                process = subprocess.Popen(command + ["-o", cache], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                runs += 1
                time.sleep(moment)
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    times.append(moment)
                process.wait()
            finish = subprocess.run(command + ["-o", cache], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            runs += 1
            if finish.returncode != 0:
                problems = [f"the resuming run exited {finish.returncode}: {finish.stderr.strip()}"]
            else:
                problems = differences(committed(cache), expected)
                leftovers = [name for name in os.listdir(work) if name.startswith(".")]
                if leftovers:
                    problems.append(f"temporary files left: {leftovers}")
            failures += bool(problems)
            killed_trials += bool(times)
            total_kills += len(times)
            shown = ", ".join(f"{t:.2f}" for t in times) or "(finished first)"
            print(f"{trial:5d}  {len(times):5d}  {shown:24s}  {runs:4d}  {'equal' if not problems else '; '.join(problems)}")
            os.remove(cache)
        print(f"{args.trials - failures} of {args.trials} trials equal to the uninterrupted cache "
              f"({killed_trials} trials killed at least once, {total_kills} kills in all)")
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
