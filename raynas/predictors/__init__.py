"""Few-shot predictors (Multi-Predict): encodings, baselines, transfer across devices and spaces.

Latency on a new device from its latencies of ``n`` architectures::

    from raynas.predictors import load_space_table, transfer_encoding, RaynasTransfer
    tab = load_space_table("fbnet")
    S, y, _ = tab.sources("raspi4")                      # the other devices are the sources
    X, k, c = transfer_encoding(S, tab.features())
    idx = np.random.default_rng(0).choice(len(y), 10, replace=False)   # the 10 archs measured on raspi4
    model = RaynasTransfer(n_source=k, n_cost=c).pretrain(X).fit(X[idx], y[idx])
    predicted = model.predict(X)                         # every architecture of the space

Accuracy from ``n`` trained architectures with the ZCP encoding::

    Z = ZCPEncoder().fit_transform(tab.zcp())            # proxies from the ProxyTable cache
    acc_model = TreePredictor().fit(Z[trained], accuracy_of_trained)   # rows of the archs you trained

Modules: :mod:`.encodings` (one-hot, analytic, cost columns, source latencies, hardware embedding),
:mod:`.zcp` (the zero-cost-proxy encoding), :mod:`.features` (analytic features of built networks),
:mod:`.models` (the documented baselines and :class:`RaynasTransfer`), :mod:`.neural` (torch MLP,
GBDT, Multi-Predict's MLP transfer), :mod:`.crossspace` (NB201 <-> FBNet), :mod:`.sampling` (which
architectures to measure). Models are scikit-learn estimators (``fit``/``predict``, picklable).
"""

from raynas.predictors.encodings import (analytic, concat, cost_columns, hardware_embedding, onehot,
                                         source_latencies, standardise, transfer_encoding)
from raynas.predictors.features import BASIC_FEATURES, FEATURE_NAMES, analytic_features, arch_features, space_features
from raynas.predictors.models import (AnalyticRidge, NearestSourceDevice, NNLSTransfer, OneHotRidge, RaynasTransfer,
                                      SourcePriorTransfer, new_device_sources, select_source_prior, select_stack,
                                      stack_combos,
                                      spearman)
from raynas.predictors.crossspace import RooflineRidge, SourceBank, pseudo_sources, roofline_columns
from raynas.predictors.neural import ForestPredictor, MLPPredictor, MultiPredictTransfer, TreePredictor
from raynas.predictors.sampling import (STRATEGIES, choose, farthest_point, kmeans_sample, random_sample,
                                        uncertainty_sample)
from raynas.predictors.tables import SpaceTable, load_space_table
from raynas.predictors.zcp import ZCP_BATCH, ZCP_PROXIES, ZCPEncoder, zcp_available, zcp_encoding, zcp_table, zcp_values


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
    "SpaceTable", "load_space_table", "save_predictor", "load_predictor", "spearman", "uncertainty_sample",
    "RooflineRidge", "SourceBank", "pseudo_sources", "roofline_columns", "MLPPredictor", "MultiPredictTransfer",
    "TreePredictor", "ForestPredictor", "ZCP_BATCH", "ZCP_PROXIES", "ZCPEncoder", "zcp_available", "zcp_encoding", "zcp_table",
    "zcp_values", "select_source_prior", "select_stack", "stack_combos", "new_device_sources",
]
