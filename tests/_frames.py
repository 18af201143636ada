"""A results frame shaped like ``run_search``'s (Tune's columns, config columns, two devices), with
every kind of trial: complete (one dominated, two with the same objectives), stopped early,
failed with an explanation (NaN metrics) and raised (``trial_error``)."""

from __future__ import annotations

import math

import pandas as pd

METRIC = ["accuracy", "latency_ms"]
MODE = ["max", "min"]
OPS = ["nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none"]


def results_frame() -> pd.DataFrame:
    nan = math.nan
    rows = [
        # trial, accuracy, latency, raspi4 latency, epoch, op, lr, width, bn
        ("t0", 90.0, 5.0, 40.0, 3, "nor_conv_3x3", 0.1, 16, True),     # front
        ("t1", 80.0, 2.0, 15.0, 3, "avg_pool_3x3", 0.01, 8, False),    # front
        ("t2", 70.0, 1.0, 9.0, 3, "skip_connect", 0.05, 4, True),      # front
        ("t3", 85.0, 6.0, 50.0, 3, "nor_conv_3x3", 0.2, 16, False),    # dominated by t0
        ("t4", 80.0, 2.0, 16.0, 3, "avg_pool_3x3", 0.02, 8, True),     # ties t1: on the front too
        ("t5", 99.0, 0.5, 4.0, 1, "none", 0.3, 4, False),              # stopped early, would dominate
        ("t6", nan, nan, nan, 0, "none", 0.1, 32, True),               # explained failure
        ("t7", nan, nan, nan, 2, "skip_connect", 0.1, 8, False),       # raised
    ]
    frame = pd.DataFrame([{
        "accuracy": acc, "error": 100.0 - acc, "latency_ms": lat, "latency_ms/pixel3": lat,
        "latency_ms/raspi4": lat4, "arch": f"|{op}~0|", "epoch": epoch, "max_epochs": 3,
        "outcome": "invalid_architecture" if tid == "t6" else "ok",
        "explanation": "unknown op 'conv9x9'" if tid == "t6" else "",
        "timestamp": 1_760_000_000 + i, "training_iteration": max(epoch, 1), "trial_id": tid,
        "date": "2025-10-09_10-00-00", "time_total_s": 0.5 + i, "pid": 123, "hostname": "h", "done": True,
        "config/edge": op, "config/lr": lr, "config/width": width, "config/bn": bn,
    } for i, (tid, acc, lat, lat4, epoch, op, lr, width, bn) in enumerate(rows)])
    frame["trial_error"] = [None] * 7 + ["RuntimeError: node died"]
    return frame
