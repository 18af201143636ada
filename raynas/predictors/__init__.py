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
architectures to measure); the learned models of the searches live here too: :mod:`.surrogates`
(the Gaussian process and Bayesian ridge the zero-cost and predictor strategies refit as results
arrive) and :mod:`.modnas` (MODNAS's differentiable latency predictor and accuracy surrogate).
Transfer models are scikit-learn estimators (``fit``/``predict``, picklable). Names are imported on
first use, so ``from raynas.predictors.surrogates import ArchGP`` does not load torch or scikit-learn.
"""

import importlib

_EXPORTS = {
    "encodings": ["analytic", "concat", "cost_columns", "hardware_embedding", "onehot", "source_latencies",
                  "standardise", "transfer_encoding"],
    "features": ["BASIC_FEATURES", "FEATURE_NAMES", "analytic_features", "arch_features", "space_features"],
    "models": ["AnalyticRidge", "NearestSourceDevice", "NNLSTransfer", "OneHotRidge", "RaynasTransfer",
               "SourcePriorTransfer", "new_device_sources", "select_source_prior", "select_stack", "stack_combos",
               "spearman"],
    "crossspace": ["RooflineRidge", "SourceBank", "pseudo_sources", "roofline_columns"],
    "neural": ["ForestPredictor", "MLPPredictor", "MultiPredictTransfer", "TreePredictor"],
    "sampling": ["STRATEGIES", "choose", "farthest_point", "kmeans_sample", "random_sample", "uncertainty_sample"],
    "tables": ["SpaceTable", "load_space_table"],
    "zcp": ["ZCP_BATCH", "ZCP_PROXIES", "ZCPEncoder", "zcp_available", "zcp_encoding", "zcp_table", "zcp_values"],
    "surrogates": ["ArchGP", "RidgeSurrogate", "OnlineRidge", "OutputWarp", "Posterior"],
    "modnas": ["AccuracyFit", "AccuracySurrogate", "HardwareProfile", "LatencyData", "MetaPredictor",
               "fit_accuracy_surrogate", "fit_meta_predictor", "load_latency_data", "nb201_accuracy_surrogate",
               "refit_accuracy_surrogate", "refit_meta_predictor"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'raynas.predictors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"raynas.predictors.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


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


__all__ = ["save_predictor", "load_predictor", *_MODULE_OF]
