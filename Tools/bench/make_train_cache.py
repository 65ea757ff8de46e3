#!/usr/bin/env python3
"""Writes the synthetic caches of Tools/bench/train.sh: Caltech-256's shape (257 classes, 4,096
float32 features, like VGG's fc7) in graft's cache layout, learnable but not separable.

Each class has a mean in a 96-dimensional latent space; an image is its class mean plus latent
noise, mapped to 4,096 features by a fixed random matrix, plus feature noise, through a ReLU
(fc7 activations are non-negative). Training and test rows are drawn the same way with one seed.

    make_train_cache.py OUT_DIR [--rows 30000] [--test-rows 5000] [--seed 0]
"""
import argparse
import os

import h5py
import numpy as np

STRING = h5py.string_dtype("utf-8")


def write_cache(path, features, labels, classes, prefix):
    with h5py.File(path, "w") as f:
        f.create_dataset("features/fc7", data=features, maxshape=(None, features.shape[1]), chunks=(64, features.shape[1]))
        f.create_dataset("labels", data=labels.astype(np.int64), maxshape=(None,), chunks=(4096,))
        ids = [f"{prefix}/{classes[label]}/{i:06d}.jpg" for i, label in enumerate(labels)]
        f.create_dataset("ids", data=ids, dtype=STRING, maxshape=(None,), chunks=(4096,))
        f.create_dataset("classes", data=classes, dtype=STRING)
        f.create_dataset("failed/ids", shape=(0,), dtype=STRING, maxshape=(None,), chunks=(64,))
        f.create_dataset("failed/reasons", shape=(0,), dtype=STRING, maxshape=(None,), chunks=(64,))
        a = f.attrs
        a["cache_format_version"] = np.int64(1)
        a["rows"] = np.int64(len(labels))
        a["failed_rows"] = np.int64(0)
        a["model_sha256"] = "5" * 64
        a["model_name"] = "synthetic_vgg16"
        a.create("layers", ["fc7"], dtype=STRING)
        a["pool"] = "none"
        a["preprocessing"] = '{"preset":"keras-caffe"}'
        a["input_list_sha256"] = "6" * 64
        a["graft_version"] = "0.1.0"
        a["created"] = "2025-01-01T00:00:00Z"


def draw(rng, means, projection, rows, classes):
    labels = rng.integers(0, classes, size=rows)
    latent = means[labels] + rng.normal(0, 1.0, size=(rows, means.shape[1])).astype(np.float32)
    x = latent @ projection
    x += rng.normal(0, 1.0, size=x.shape).astype(np.float32)
    np.maximum(x, 0, out=x)
    return x.astype(np.float32), labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--test-rows", type=int, default=5000)
    parser.add_argument("--features", type=int, default=4096)
    parser.add_argument("--classes", type=int, default=257)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    latent = 96
    means = rng.normal(0, 0.4, size=(args.classes, latent)).astype(np.float32)
    projection = (rng.normal(0, 1, size=(latent, args.features)) / np.sqrt(latent)).astype(np.float32)
    classes = [f"{i:03d}.class" for i in range(1, args.classes + 1)]
    os.makedirs(args.out, exist_ok=True)
    x, y = draw(rng, means, projection, args.rows, args.classes)
    write_cache(os.path.join(args.out, "train.h5"), x, y, classes, "train")
    x, y = draw(rng, means, projection, args.test_rows, args.classes)
    write_cache(os.path.join(args.out, "test.h5"), x, y, classes, "test")
    print(f"wrote {args.rows} training and {args.test_rows} test rows of {args.features} features, {args.classes} classes, to {args.out}")


if __name__ == "__main__":
    main()
