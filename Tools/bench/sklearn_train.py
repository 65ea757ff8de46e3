#!/usr/bin/env python3
"""The scikit-learn side of Tools/bench/train.sh: make_pipeline(StandardScaler(),
LogisticRegression(C=1, tol=..., max_iter=...)) fitted on a graft cache, timed, and its accuracy on
a second cache; plus the accuracy of a graft predict TSV on that cache.

    sklearn_train.py TRAIN.h5 TEST.h5 [--tol 1e-4] [--max-iter 100] [--graft-scores SCORES.tsv]
                     [--cv K --C-grid 0.01,0.1,1]

With --cv, the estimator is LogisticRegressionCV(Cs=[grid], cv=K) (StratifiedKFold(K) folds,
accuracy scoring, the best mean fold score refitted on all rows), what `graft train --cv K
--C-grid ... --scoring accuracy` computes.
"""
import argparse
import time
import warnings

import h5py
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    with h5py.File(path, "r") as f:
        layer = f.attrs["layers"][0]
        name = layer.decode() if isinstance(layer, bytes) else str(layer)
        rows = int(f.attrs["rows"])
        x = f["features/" + name.replace("%", "%25").replace("/", "%2F")][:rows]
        return x, f["labels"][:rows], f["ids"].asstr()[:rows], list(f["classes"].asstr()[:])


def graft_accuracy(path, ids, labels, classes):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        columns = header[2:]
        predicted = {}
        for line in f:
            fields = line.rstrip("\n").split("\t")
            predicted[fields[0]] = columns[int(np.argmax(np.array(fields[2:], dtype=np.float64)))]
    return float(np.mean([predicted[i] == classes[label] for i, label in zip(ids, labels)]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--graft-scores")
    parser.add_argument("--cv", type=int)
    parser.add_argument("--C-grid", default="0.01,0.1,1")
    args = parser.parse_args()
    x, y, _, classes = load(args.train)
    xt, yt, ids, _ = load(args.test)
    if args.graft_scores:
        print(f"graft test accuracy {graft_accuracy(args.graft_scores, ids, yt, classes):.4f}")
        return
    if args.cv:
        grid = [float(c) for c in args.C_grid.split(",")]
        estimator = LogisticRegressionCV(Cs=grid, cv=args.cv, scoring="accuracy", tol=args.tol, max_iter=args.max_iter)
    else:
        estimator = LogisticRegression(C=1.0, tol=args.tol, max_iter=args.max_iter)
    model = make_pipeline(StandardScaler(), estimator)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    train_accuracy = float((model.predict(x) == y).mean())
    test_accuracy = float((model.predict(xt) == yt).mean())
    if args.cv:
        print(f"scikit-learn LogisticRegressionCV(cv={args.cv}, Cs={args.C_grid}) tol={args.tol:g}: fit {seconds:.1f} s, "
              f"chose C={float(model[-1].C_[0]):g}, {int(model[-1].n_iter_.sum())} iterations over all folds and Cs, "
              f"fold scores {np.round(model[-1].scores_[next(iter(model[-1].scores_))].mean(axis=0), 4).tolist()}, "
              f"test accuracy {float((model.predict(xt) == yt).mean()):.4f}")
        return
    print(f"scikit-learn tol={args.tol:g} max_iter={args.max_iter}: fit {seconds:.1f} s, {int(model[-1].n_iter_[0])} iterations"
          f"{'' if converged else ' (ConvergenceWarning: stopped at max_iter)'}, "
          f"training accuracy {train_accuracy:.4f}, test accuracy {test_accuracy:.4f}")


if __name__ == "__main__":
    main()
