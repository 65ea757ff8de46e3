#!/usr/bin/env python3
"""The Python side of Tools/bench/job.py: what a Python user writes for the images-to-AUC job.

    python job_python.py MODEL.onnx TRAIN_FOLDER TEST_FOLDER [--threads 2] [--batch 8]

Decodes each JPEG with PIL as Keras's `load_img(path, target_size=(224, 224))` does (RGB, nearest
resizing), applies Keras's "caffe" preprocessing (BGR, ImageNet means subtracted), runs the ONNX
trunk (penultimate features) in onnxruntime in batches, fits scikit-learn's StandardScaler +
LogisticRegression (C=1, lbfgs, the defaults) on the training folder, and prints the macro
one-vs-rest ROC AUC on the test folder. Class folders give the labels. Imports only numpy, PIL,
onnxruntime and scikit-learn: no TensorFlow.
"""
import argparse
import os

import numpy as np
import onnxruntime
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MEANS_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def listing(folder):
    classes = sorted(entry for entry in os.listdir(folder) if os.path.isdir(os.path.join(folder, entry)))
    paths, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted(os.listdir(os.path.join(folder, name))):
            paths.append(os.path.join(folder, name, file))
            labels.append(label)
    return paths, np.array(labels)


def features(session, paths, batch):
    name = session.get_inputs()[0].name
    out = []
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        x = np.empty((len(chunk), 224, 224, 3), np.float32)
        for i, path in enumerate(chunk):
            with Image.open(path) as image:
                x[i] = np.asarray(image.convert("RGB").resize((224, 224), Image.NEAREST), np.float32)
        x = x[..., ::-1] - MEANS_BGR
        out.append(session.run(None, {name: np.ascontiguousarray(x)})[0].reshape(len(chunk), -1))
    return np.concatenate(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    train_paths, train_labels = listing(args.train)
    test_paths, test_labels = listing(args.test)
    head = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=100))
    head.fit(features(session, train_paths, args.batch), train_labels)
    scores = head.predict_proba(features(session, test_paths, args.batch))
    print(f"macro AUC {roc_auc_score(test_labels, scores, multi_class='ovr', average='macro'):.6f}")


if __name__ == "__main__":
    main()
