"""Latency predictors: encodings, analytic features, baselines and few-shot transfer.

Quick use, transferring to a new device from its latencies of ``n`` architectures::

    from raynas.predictors import load_space_table, transfer_encoding, RaynasTransfer
    tab = load_space_table("fbnet")
    X, k, c = transfer_encoding(tab.latency[:, sources], tab.features())
    model = RaynasTransfer(n_source=k, n_cost=c).fit(X[idx], y_measured)
    predicted = model.predict(X)

Models are scikit-learn estimators (``fit``/``predict``, ``get_params``, picklable); see
:mod:`raynas.predictors.models` for the documented baselines.
"""

from raynas.predictors.encodings import (analytic, concat, cost_columns, hardware_embedding, onehot,
                                         source_latencies, standardise, transfer_encoding)
from raynas.predictors.features import BASIC_FEATURES, FEATURE_NAMES, analytic_features, arch_features, space_features
from raynas.predictors.models import (AnalyticRidge, NearestSourceDevice, NNLSTransfer, OneHotRidge, RaynasTransfer,
                                      SourcePriorTransfer, spearman)
from raynas.predictors.sampling import STRATEGIES, choose, farthest_point, kmeans_sample, random_sample
from raynas.predictors.tables import SpaceTable, load_space_table


def save_predictor(model, path) -> None:
    """Pickle a fitted predictor to ``path``."""
    import pickle

    with open(path, "wb") as f:
        pickle.dump(model, f)


def load_predictor(path):
    """Load a predictor written by :func:`save_predictor` (trusted files only: this unpickles)."""
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)


__all__ = [
    "AnalyticRidge", "NearestSourceDevice", "NNLSTransfer", "OneHotRidge", "RaynasTransfer", "SourcePriorTransfer",
    "BASIC_FEATURES", "FEATURE_NAMES", "analytic_features", "arch_features", "space_features",
    "analytic", "concat", "cost_columns", "hardware_embedding", "onehot", "source_latencies", "standardise",
    "transfer_encoding", "STRATEGIES", "choose", "farthest_point", "kmeans_sample", "random_sample",
    "SpaceTable", "load_space_table", "save_predictor", "load_predictor", "spearman",
]
