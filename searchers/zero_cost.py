"""``ZeroCostSearch``: zero-cost-proxy-guided multi-objective NAS as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.ZeroCostStrategy` (through the generic
:class:`~searchers.strategy_searcher.StrategySearcher`). The strategy uses zero-cost proxies twice,
as Abdelfattah et al. (ICLR 2021) do: to pick the first architectures (warm-up: the non-dominated
ones of many candidates scored by a proxy and a cheap hardware cost) and to choose each next
proposal among the mutants of the engine's parent (move proposal). Proxies are computed on the real
networks of the space, here on the driver or (``proxy_workers > 0``) in Ray tasks, and cached per
architecture; the cache is part of the searcher's checkpoint, so ``Tuner.restore`` does not
recompute it.

Cost of the first ``suggest()``: the warm-up scores ``warmup_networks`` (default 500) real networks
and predicts the scores of the rest of its ``warmup_candidates`` (3,000) from their encoding; on
NB201 that is ~0.1-0.15 s a network on one loaded core (``benchmarks/overhead.py`` measures it), so
pass ``proxy_workers=n`` to spread it over Ray tasks, ``warmup_networks=200`` for a faster start
(measured: 99% of the true front's HV 6 trials later), or ``proxy_cache_dir`` to reuse values.

Drop-in use (the two lines that change in a plain Tune script)::

    from searchers import ZeroCostSearch
    search_alg = ZeroCostSearch(NB201Space(), metric=["accuracy", "latency_ms"], mode=["max", "min"])

``metric[0]`` is the quality the proxy estimates (accuracy, or an error with mode ``"min"``),
``metric[1]`` the hardware cost (latency on the target device) that ``cost`` estimates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from raynas.errors import InvalidConfigError
from raynas.spaces import NB201Space, SearchSpace
from raynas.strategies import OptunaStrategy, Strategy, ZeroCostStrategy
from raynas.strategies.optuna import SAMPLERS
from raynas.strategies.scorers import LOG_PROXIES, ProxyScores
from raynas.strategies.parts import ENGINES
from searchers.strategy_searcher import StrategySearcher, _validated_lists


def ray_mapper(space: SearchSpace, names: Sequence[str], batch, num_classes: int, init_seed: int,
               input_shape: Sequence[int], data_dir=None, threads: int = 1) -> Callable[[list], list]:
    """``mapper(chunks) -> [DataFrame]`` scoring each chunk of architectures in a Ray task (1 CPU each)."""

    def mapper(chunks: list) -> list:
        import ray

        task = ray.remote(num_cpus=1)(_score_chunk)
        refs = [task.remote(space, chunk, list(names), batch, num_classes, init_seed, tuple(input_shape),
                            data_dir, threads) for chunk in chunks]
        return ray.get(refs)

    return mapper


def _score_chunk(space, archs, names, batch, num_classes, init_seed, input_shape, data_dir, threads):
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from raynas.proxies import get_proxy, score_architectures

    torch.set_num_threads(threads)
    data = None if all(get_proxy(n).data_free for n in names) else batch.load(num_classes, data_dir)
    return score_architectures(space, archs, names, data, num_classes=num_classes, seed=init_seed,
                               input_shape=input_shape)


def make_engine(engine: Any, space: SearchSpace, seed: int | None, n_objectives: int):
    """``"evolution"``/``"random"`` (the strategy's own), an Optuna sampler name (``"tpe"``,
    ``"nsga2"``, ``"gp"``, ``"qmc"``, ``"optuna-random"``), or a :class:`Strategy` instance."""
    if isinstance(engine, Strategy) or engine in ENGINES:
        return engine
    if isinstance(engine, str):
        name = engine.removeprefix("optuna-")
        if name in SAMPLERS:
            return OptunaStrategy(space, name, n_objectives=n_objectives, seed=seed, skip_duplicates=True)
    raise InvalidConfigError(
        f"unknown engine {engine!r}; use one of {list(ENGINES)}, an Optuna sampler "
        f"({', '.join(s for s in SAMPLERS if s != 'random')}, optuna-random) or a raynas Strategy")


class ZeroCostSearch(StrategySearcher):
    """Zero-cost warm-up and move proposal over a proposal engine, for two objectives.

    Args:
        space: the search space (default NAS-Bench-201).
        metric, mode: two metrics, ``[quality, hardware cost]``, e.g. ``["accuracy", "latency_ms"]``,
            ``["max", "min"]``. Checked here: wrong lengths or modes raise at once.
        proxy: accuracy proxies, registered names (``path_params``, ``synflow``, ``snip``,
            ``jacob_cov``, ``naswot``, ...; unknown names raise here) or scorer objects; the first
            drives the warm-up, all are features of the learned estimate (default: path_params and
            synflow, both data-free).
        cost: the hardware-cost estimate, a proxy name (``flops``, ``params``) or a scorer, e.g.
            a latency predictor's ``predict`` wrapped as ``Arch -> float``.
        engine: ``"evolution"`` (aging evolution), ``"random"``, an Optuna sampler name
            (``"tpe"``, ``"nsga2"``, ``"gp"``, ``"qmc"``, ``"optuna-random"``) or a raynas Strategy.
        seed: makes the whole search deterministic.
        proxy_batch: the :class:`raynas.proxies.BatchSpec` data proxies see (data-free ones ignore it).
        proxy_cache_dir: keep proxy values in a CSV there (shared between searches).
        proxy_workers: 0 computes proxies on the driver; ``n > 0`` spreads each batch of uncached
            architectures (the warm-up's candidates) over Ray tasks in chunks of ``proxy_chunk``.
        static_metrics: metrics still used from early-stopped trials (default: the hardware cost).
        **strategy_kwargs: :class:`~raynas.strategies.ZeroCostStrategy` settings
            (``warmup_candidates``, ``warmup_size``, ``random_move_prob``, ``population_size``, ...).
    """

    def __init__(self, space: SearchSpace | None = None, metric: Sequence[str] | None = None,
                 mode: Sequence[str] | None = None, *, proxy: Any = ("path_params", "synflow"), cost: Any = "flops",
                 engine: Any = "evolution", seed: int | None = None, proxy_batch=None, proxy_cache_dir=None,
                 proxy_workers: int = 0, proxy_chunk: int = 50, num_classes: int = 10,
                 input_shape: Sequence[int] = (3, 32, 32), data_dir=None,
                 static_metrics: Sequence[str] | None = None, **strategy_kwargs):
        metric, mode = _validated_lists(metric, mode)
        if len(metric) != 2:
            raise InvalidConfigError(
                f"ZeroCostSearch optimises two metrics, [quality, hardware cost], got {len(metric)}: {metric}")
        if not isinstance(proxy_workers, int) or proxy_workers < 0:
            raise InvalidConfigError(f"proxy_workers must be an integer >= 0, got {proxy_workers!r}")
        space = space if space is not None else NB201Space()
        proxies = list(proxy) if isinstance(proxy, (list, tuple)) else [proxy]
        names = [n for n in proxies + [cost] if isinstance(n, str)]
        scores = None
        if names:  # one table computes both on one build of each network; names are checked here
            scores = ProxyScores(space, list(dict.fromkeys(names)), batch=proxy_batch, num_classes=num_classes,
                                 input_shape=input_shape, cache_dir=proxy_cache_dir, data_dir=data_dir,
                                 chunk_size=proxy_chunk)
            if proxy_workers:
                scores.mapper = ray_mapper(space, scores.names, scores.batch, num_classes, scores.init_seed,
                                           input_shape, data_dir)
        self.scores = scores
        proxies = [scores.scorer(p, "log" if p in LOG_PROXIES else "none") if isinstance(p, str) else p for p in proxies]
        cost = scores.scorer(cost, "log" if cost in LOG_PROXIES else "none") if isinstance(cost, str) else cost
        strategy = ZeroCostStrategy(space, proxies, cost, seed=seed,
                                    engine=make_engine(engine, space, seed, len(metric)), **strategy_kwargs)
        super().__init__(strategy, space, metric, mode,
                         [metric[1]] if static_metrics is None else static_metrics)

    @property
    def proxy_evaluations(self) -> dict[str, int]:
        """Networks whose proxies (and hardware cost) were computed so far: the proxy budget."""
        return self.strategy.estimate_evaluations

    def get_state(self) -> dict:
        state = super().get_state()
        if self.scores is not None:
            state["proxy_scores"] = self.scores.state_dict()
        return state

    def set_state(self, state: dict) -> None:
        if self.scores is not None and "proxy_scores" in state:
            self.scores.load_state_dict(state["proxy_scores"])  # before the strategy replays its history
        super().set_state(state)


__all__ = ["ZeroCostSearch", "make_engine", "ray_mapper"]
