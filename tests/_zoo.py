"""Every raynas searcher by name, built small and seeded, for the cluster, resume and load tests.

Shared by tests/test_cluster.py, tests/test_resume.py and the driver scripts in tests/scripts/
(which run in their own processes), so each searcher is set up once. Objectives are the tabular
trainable's: ``accuracy`` (max) and ``latency_ms`` (min) on the published device ``DEVICE``.

``searcher_names()`` lists the searchers this checkout has: the fixed ones below, plus whatever
``searchers.make_searcher`` (the searcher factory) knows when it exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the driver scripts run as plain files
    sys.path.insert(0, str(REPO))

from raynas.strategies.parts import Model, Moves, Warmup  # noqa: E402

METRIC = ["accuracy", "latency_ms"]
MODE = ["max", "min"]
DEVICE = "gold_6226"
TARGETS = ["pixel3", "raspi4"]  # HypernetSearch's target devices (latency_ms/<device> is reported)

#: Searchers built here (name -> what it is). ``random``/``aging``/``zero_cost`` are plain
#: StrategySearchers, used only when ``searchers.make_searcher`` (which has them) is absent.
FIXED = {
    "optuna_nsga2": "Tune's OptunaSearch (NSGA-II sampler)",
    "optuna_tpe": "Tune's OptunaSearch (TPE sampler)",
    "hypernet": "HypernetSearch",
    "similarity": "SimilarityEvolutionSearch",
}
# plus "predictor" (PredictorSearch) when searchers.predictor exists
FALLBACK = {
    "random": "StrategySearcher(RandomStrategy)",
    "aging": "StrategySearcher(AgingEvolutionStrategy)",
    "zero_cost": "StrategySearcher(ZeroCostStrategy)",
}


def factory_names() -> list[str]:
    """Names ``searchers.make_searcher`` accepts, when that factory exists (else none)."""
    try:
        import searchers
    except ImportError:  # pragma: no cover
        return []
    if not hasattr(searchers, "make_searcher"):
        return []
    for attr in ("SEARCHER_NAMES", "SEARCHERS", "searcher_names"):
        names = getattr(searchers, attr, None)
        if callable(names):
            names = names()
        if names:
            return [str(n) for n in names]
    return []


def predictor_available() -> bool:
    try:
        from searchers.predictor import PredictorSearch  # noqa: F401
    except ImportError:
        return False
    return True


#: Settings that keep a factory searcher's own start-up small (ZeroCostSearch scores 3,000
#: candidates by default before its first proposal: minutes on a loaded 2-core machine).
SMALL_KWARGS = {"zero_cost": {"warmup": Warmup(100, 4), "moves": Moves(population_size=8, sample_size=3),
                              "model": Model(min_fit=4), "proxy_workers": 0}}  # reproducible: scores on the driver


def adapter_names() -> list[str]:
    """One searcher per adapter class (the Optuna samplers share one adapter: NSGA-II and TPE stand
    for all of them)."""
    return [n for n in searcher_names()
            if not n.startswith("make:optuna-") or n in ("make:optuna-nsga2", "make:optuna-tpe")]


def searcher_names() -> list[str]:
    made = factory_names()
    names = [f"make:{n}" for n in made] if made else list(FALLBACK)
    return names + list(FIXED) + (["predictor"] if predictor_available() else [])


def build(name: str, seed: int = 0):
    """The searcher called ``name`` (a key of :data:`FIXED` or ``make:<factory name>``)."""
    from raynas.spaces import NB201Space
    from raynas.strategies import AgingEvolutionStrategy, RandomStrategy, ZeroCostStrategy
    from searchers.strategy_searcher import StrategySearcher

    space = NB201Space()
    if name.startswith("make:"):
        from searchers import make_searcher

        kwargs = SMALL_KWARGS.get(name[5:], {})
        return make_searcher(name[5:], space, METRIC, MODE, seed=seed, **kwargs)
    if name == "random":
        return StrategySearcher(RandomStrategy(space, seed=seed), space, METRIC, MODE)
    if name == "aging":
        return StrategySearcher(AgingEvolutionStrategy(space, population_size=8, sample_size=3, seed=seed),
                                space, METRIC, MODE)
    if name == "zero_cost":
        strategy = ZeroCostStrategy(space, proxy="params", cost="flops", warmup=Warmup(100, 4),
                                    moves=Moves(population_size=8, sample_size=3), model=Model(min_fit=4), seed=seed)
        return StrategySearcher(strategy, space, METRIC, MODE)
    if name in ("optuna_nsga2", "optuna_tpe"):
        from searchers.optuna_moo import optuna_moo_search

        return optuna_moo_search(METRIC, MODE, sampler=name.split("_")[1], seed=seed,
                                 **({"population_size": 4} if name == "optuna_nsga2" else {}))
    if name == "hypernet":
        from raynas.hypernet.train import TrainSettings
        from searchers.hypernet import HypernetSearch

        return HypernetSearch.from_tables(space, ["gold_6226", "pixel2", "titanx_1"], TARGETS, metric=METRIC,
                                          mode=MODE, n_accuracy_archs=200, archs_per_device=200, predictor_epochs=2,
                                          settings=TrainSettings(steps=20, seed=seed), seed=seed, n_preferences=4,
                                          refit_every=0)
    if name == "similarity":
        import torch

        from raynas.data import load_digits, one_batch
        from raynas.reference import from_module
        from raynas.strategies.similarity import params_cost
        from searchers.similarity import SimilarityEvolutionSearch

        small = NB201Space(channels=4, cells_per_stage=1)
        torch.manual_seed(seed)
        ref = from_module(small.build((3,) * 6, num_classes=10, in_channels=1), dataset="digits", num_classes=10)
        cost = params_cost(small, 10, 1)
        return SimilarityEvolutionSearch.from_reference(
            ref, small, cost=cost, budget=cost((2,) * 6), metric=METRIC, mode=MODE,
            batch=one_batch(load_digits(), 32, seed=seed), fit=None, population_size=6, sample_size=3,
            cycles_per_ask=2, seed=seed)
    if name == "predictor":
        return _predictor(seed)
    raise KeyError(f"unknown searcher {name!r}; known: {searcher_names()}")


def _predictor(seed: int):
    """Issue 11's PredictorSearch as its own tests set it up: latency by NNLS over the other devices'
    published latencies (their median as the prior), accuracy by ridge on the one-hot encoding."""
    import numpy as np
    from sklearn.linear_model import Ridge

    from raynas.benchmarks import NB201Benchmark
    from raynas.predictors import NNLSTransfer
    from raynas.strategies.predictor import ObjectiveModel, PredictorStrategy
    from searchers.predictor import PredictorSearch

    bench = NB201Benchmark()
    sources = np.stack([bench.all_latency(d) for d in bench.devices if d != DEVICE], 1)
    onehot = np.stack([bench.space.encode_onehot(a) for a in bench.archs])
    index = bench._index

    def rows(archs):
        return [index[tuple(a)] for a in archs]

    lat = ObjectiveModel(lambda A: sources[rows(A)], NNLSTransfer(relative=True),
                         prior=lambda A: np.median(sources[rows(A)], 1), min_fit=5, n_boot=3)
    acc = ObjectiveModel(lambda A: onehot[rows(A)], Ridge(alpha=3.0), min_fit=8, n_boot=3)
    strategy = PredictorStrategy(bench.space, [acc, lat], signs=[-1, 1], candidates=bench.archs, pool_size=128,
                                 seed=seed)
    return PredictorSearch(bench.space, METRIC, MODE, strategy=strategy)


def param_space(name: str) -> dict:
    """The Tuner ``param_space`` for ``name``: the NB201 choices (OptunaSearch samples them; raynas
    searchers check them against their space)."""
    from raynas.spaces import NB201Space
    from searchers.spaces import tune_param_space

    return tune_param_space(NB201Space())


def trainable_devices(name: str) -> list[str]:
    """Devices the tabular trainable must report for ``name`` (HypernetSearch reads its targets)."""
    return [DEVICE, *TARGETS] if name == "hypernet" else [DEVICE]


def ray_env() -> dict:
    return {"OMP_WAIT_POLICY": "PASSIVE", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "OMP_NUM_THREADS": "1"}


os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
