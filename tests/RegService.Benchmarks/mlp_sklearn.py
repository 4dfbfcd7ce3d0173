#!/usr/bin/python3
"""Twins of MlpBench.cs (key mlp_epoch_50k_200_64): one training epoch of a binary MLP with 64 ReLU units on
logit_50k_200.csv, in scikit-learn and (when python3-torch is installed) PyTorch.

    /usr/bin/python3 tests/RegService.Benchmarks/mlp_sklearn.py /tmp/anchors [REPS]

Prints one JSON object of medians (seconds). The features are standardized before timing (RegService times its
standardization apart from the epoch too), in float64 as RegService computes.

scikit-learn: MLPClassifier(hidden_layer_sizes=(64,), solver="adam", batch_size=B, max_iter=1, alpha=0,
learning_rate_init=0.001) for B = 200 (its default, min(200, n)) and 64:
  KEY_sklearn_fit          fit() with max_iter=1: input checks, initialization and one epoch
  KEY_sklearn_epoch        partial_fit() on a fitted model: one more epoch alone
scikit-learn adds up the mini-batch losses during the epoch; it makes no separate pass over the rows as RegService's
learning curve does (a third of RegService's epoch FLOPs).

PyTorch (float64, torch.set_num_threads(2)): Linear(200, 64), ReLU, Linear(64, 1), BCEWithLogitsLoss, AdamW(lr=0.001,
weight_decay=1e-4), a shuffled permutation per epoch:
  KEY_torch_epoch          the mini-batch steps
  KEY_torch_epoch_with_eval  plus one evaluation pass over every row (the work RegService's epoch does)
"""
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

KEY = "mlp_epoch_50k_200_64"


def median_time(reps, action):
    action()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4)


def sklearn_twin(report, x, y, reps, batch, suffix):
    def model():
        return MLPClassifier(hidden_layer_sizes=(64,), solver="adam", batch_size=batch, max_iter=1, alpha=0.0,
                             learning_rate_init=0.001, shuffle=True, random_state=0, tol=0.0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        report[f"{KEY}{suffix}_sklearn_fit"] = median_time(reps, lambda: model().fit(x, y))
        fitted = model().fit(x, y)
        report[f"{KEY}{suffix}_sklearn_epoch"] = median_time(reps, lambda: fitted.partial_fit(x, y))
        report[f"{KEY}{suffix}_sklearn_loss"] = round(float(fitted.loss_), 6)


def torch_twin(report, x, y, reps, batch, suffix):
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(0)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.float64)).unsqueeze(1)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).double()
    opt = torch.optim.AdamW(net.parameters(), lr=0.001, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n = x.shape[0]

    def epoch():
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    def evaluate():
        with torch.no_grad():
            return float(loss_fn(net(xt), yt))

    report[f"{KEY}{suffix}_torch_epoch"] = median_time(reps, epoch)
    report[f"{KEY}{suffix}_torch_epoch_with_eval"] = median_time(reps, lambda: (epoch(), evaluate()))
    report["torch_version"] = torch.__version__


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/tmp/anchors"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    frame = pd.read_csv(os.path.join(data, "logit_50k_200.csv"))
    y = frame.pop("y").to_numpy()
    x = frame.to_numpy(dtype=np.float64)
    x = (x - x.mean(axis=0)) / x.std(axis=0)  # the 1/n standard deviation, as RegService
    x = np.ascontiguousarray(x)
    report = {"rows": int(x.shape[0]), "features": int(x.shape[1]), "reps": reps}
    for batch, suffix in ((200, ""), (64, "_batch64")):
        sklearn_twin(report, x, y, reps, batch, suffix)
    try:
        for batch, suffix in ((200, ""), (64, "_batch64")):
            torch_twin(report, x, y, reps, batch, suffix)
    except ImportError:
        report["torch"] = "not installed (apt-get install python3-torch)"
    print(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
