#!/usr/bin/env python3
"""Does `--precision bf16` cost a head accuracy? fp32 and bf16 features of the same photos, a
logistic head trained on each, judged on at least 1,000 test images (issue: runtime speed, item 3).

    .venv/bin/python Tools/bench/bf16_head.py [--graft .build/release/graft] [--per-class 300]
        [--work DIR]

Photos: crops of scikit-learn's two sample photos (china, flower), in 8 classes: which photo and
which quarter of it the crop is centred in. Each crop covers 20-45 % of the photo's shorter side,
is rescaled to about 256x192, mirrored half the time, and saved as JPEG quality 90 (seeded).
`--per-class` crops per class, half for training and half for testing (the default: 1,200 test
images). The trunk is Tools/bench/features_vs_run.py's seeded ResNet50 (no pretrained weights
can be downloaded here); the classes are still learnable from its features.

For each precision, `graft features` makes a training and a test cache (`--precision bf16` on a
CPU with avx512_bf16; exits with graft's message elsewhere), `graft train` fits the default
logistic head (C=1, standardised), `graft predict` scores the test cache and `graft auc` gives
the macro AUC. Prints test accuracy and macro AUC for fp32 and bf16, the accuracy gap in points
(the bar: within 0.5), and the largest relative difference of the features themselves.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from features_vs_run import ROOT, build_resnet50  # noqa: E402


def write_crops(folder, per_class):
    from PIL import Image
    from sklearn.datasets import load_sample_images
    rng = np.random.default_rng(5)
    photos = load_sample_images().images
    for photo_index, photo in enumerate(photos):
        height, width = photo.shape[:2]
        for quarter in range(4):
            name = f"{('china', 'flower')[photo_index]}-{quarter}"
            qx, qy = quarter % 2, quarter // 2
            for index in range(per_class):
                split = "train" if index % 2 == 0 else "test"
                side = int(min(width, height) * rng.uniform(0.20, 0.45))
                crop_w, crop_h = side, int(side * 0.75)
                cx = int(rng.uniform((qx + 0.1) * width / 2, (qx + 0.9) * width / 2))
                cy = int(rng.uniform((qy + 0.1) * height / 2, (qy + 0.9) * height / 2))
                left = min(max(0, cx - crop_w // 2), width - crop_w)
                top = min(max(0, cy - crop_h // 2), height - crop_h)
                image = Image.fromarray(photo[top:top + crop_h, left:left + crop_w]).resize((256, 192), Image.BICUBIC)
                if rng.random() < 0.5:
                    image = image.transpose(Image.FLIP_LEFT_RIGHT)
                target = os.path.join(folder, split, name)
                os.makedirs(target, exist_ok=True)
                image.save(os.path.join(target, f"{index:04d}.jpg"), quality=90)


def run(command, **kwargs):
    ran = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if ran.returncode != 0:
        sys.exit(f"bf16_head: {' '.join(command)} failed ({ran.returncode}): {ran.stderr.strip()}")
    return ran.stdout


def accuracy(scores_tsv):
    lines = [line.split("\t") for line in scores_tsv.strip().splitlines()]
    classes = lines[0][2:]
    right = sum(classes[int(np.argmax([float(v) for v in row[2:]]))] == row[1] for row in lines[1:])
    return right / (len(lines) - 1), len(lines) - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--work", help="keep everything here (default: a temporary folder, removed)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="graft-bf16-head-")
    os.makedirs(work, exist_ok=True)
    try:
        photos = os.path.join(work, "photos")
        if not os.path.isdir(photos):
            write_crops(photos, args.per_class)
        source, trunk = os.path.join(work, "resnet50.h5"), os.path.join(work, "resnet50.graft")
        if not os.path.exists(trunk):
            build_resnet50().save(source)
            run([args.graft, "convert", source, "-o", trunk])
        results = {}
        for precision in ("f32", "bf16"):
            caches = {}
            for split in ("train", "test"):
                caches[split] = os.path.join(work, f"{split}-{precision}.h5")
                if os.path.exists(caches[split]):
                    os.unlink(caches[split])
                run([args.graft, "features", trunk, os.path.join(photos, split), "-o", caches[split], "--quiet"]
                    + (["--precision", "bf16"] if precision == "bf16" else []))
            head = os.path.join(work, f"head-{precision}.graft")
            run([args.graft, "train", caches["train"], "-o", head, "--quiet"])
            scores = run([args.graft, "predict", head, caches["test"]])
            auc = json.loads(run([args.graft, "auc", "--json"], input=scores))
            correct, count = accuracy(scores)
            results[precision] = (correct, auc, count, caches["test"])
        with h5py.File(results["f32"][3]) as a, h5py.File(results["bf16"][3]) as b:
            layer = a.attrs["layers"][0] if not isinstance(a.attrs["layers"], str) else a.attrs["layers"]
            x, y = a["features"][list(a["features"])[0]][:], b["features"][list(b["features"])[0]][:]
            relative = float(np.max(np.abs(x - y)) / np.max(np.abs(x)))
        for precision, (correct, auc, count, _) in results.items():
            print(f"{precision:5s} test accuracy {100 * correct:6.2f} %  on {count} images   auc: {json.dumps(auc)[:200]}")
        gap = 100 * (results["f32"][0] - results["bf16"][0])
        print(f"accuracy gap fp32 - bf16: {gap:+.2f} points (bar: within 0.5); "
              f"features' max |bf16 - fp32| / max |fp32|: {relative:.2e} (layer {layer})")
        return 0 if abs(gap) <= 0.5 else 1
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
