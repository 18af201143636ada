"""``ZeroCostSearch``: zero-cost-proxy-guided multi-objective NAS as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.ZeroCostStrategy` (through the generic
:class:`~searchers.strategy_searcher.StrategySearcher`). The strategy uses zero-cost proxies twice,
as Abdelfattah et al. (ICLR 2021) do: to pick the first configurations (warm-up: the non-dominated
ones of many candidates estimated by proxies and cheap hardware costs) and to choose each next
proposal among the mutants of a parent (move proposal). Proxies are computed on the real networks
(your ``model_fn(config)``, or a NAS space's cells) and cached; the cache is part of the
searcher's checkpoint, so ``Tuner.restore`` does not recompute it.

The warm-up does not hold up the first trials: inside a Ray session its networks are scored in the
background beside the running trials (a thread of the driver on one machine, Ray tasks spread over
the nodes of a cluster; ``proxy_where``), the first suggestions come from the candidates scored so
far (random ones before any score arrives), and the warm-up proper starts once all are scored.
Progress is logged through the ``raynas`` logger.

Drop-in use (the searcher lines are all that change in a plain Tune script)::

    from searchers import ZeroCostSearch
    search_alg = ZeroCostSearch(metric=["accuracy", "latency_ms", "params"], mode=["max", "min", "min"],
                                model_fn=build_model, example_inputs=(1, 28, 28))
    tune.Tuner(trainable, param_space=param_space, tune_config=tune.TuneConfig(search_alg=search_alg, ...))

Roles (:mod:`raynas.objectives`, inferred from the metric names unless ``roles`` says otherwise):
accuracy proxies estimate ``quality`` metrics, cost proxies (FLOPs; parameters for a metric about
parameters; or any scorer you pass as ``cost``) estimate ``cost`` metrics, and ``other`` metrics are
learned from the told results only. Dimensions the network does not depend on (a learning rate)
are learned from told results too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from raynas.errors import InvalidConfigError
from raynas.objectives import Objective
from raynas.strategies import OptunaStrategy, Strategy, ZeroCostStrategy
from raynas.strategies.optuna import SAMPLERS
from raynas.strategies.parts import ENGINES, Acquisition, Model, Moves, Warmup
from raynas.strategies.scorers import INLINE_S, LOG_PROXIES, DeviceScorer, ProxyScores
from raynas.strategies.zero_cost import default_cost
from searchers.strategy_searcher import StrategySearcher


def _score_chunk(space, archs, names, batch, num_classes, init_seed, input_shape, data_dir, threads):
    """The chunk's proxy values, and the Ray node that computed them (``None`` outside Ray)."""
    import ray
    import torch

    from raynas.proxies import get_proxy, score_architectures

    torch.set_num_threads(threads)
    data = None
    if not all(get_proxy(n).data_free for n in names):
        data = batch if not hasattr(batch, "load") else batch.load(num_classes, data_dir)
    values = score_architectures(space, archs, names, data, num_classes=num_classes, seed=init_seed,
                                 input_shape=input_shape)
    return values, (ray.get_runtime_context().get_node_id() if ray.is_initialized() else None)


WHERE = ("auto", "ray", "thread")
#: chunks of zero-cost scores a searcher computes in the background at a time, by default
PROXY_WORKERS = 2


class RayScoring:
    """Computes chunks of proxy values for :class:`ProxyScores` in the background: as Ray tasks
    spread over the cluster's nodes, or in one thread of the driver.

    ``where``: ``"ray"`` -- Ray tasks (Ray's ``"SPREAD"`` scheduling; ``num_cpus`` is what each
    reserves: 0 by default, so scoring runs even when the trials hold every CPU, at the price of
    sharing those CPUs with ``max_in_flight`` single-threaded tasks; each new worker process pays
    the import of torch first); ``"thread"`` -- a background thread of the driver (no start-up, no
    serialisation; it shares the driver's CPU); ``"auto"`` (default) -- a thread when the Ray
    cluster has one node, tasks when it has more (decided at the first chunk). Outside a Ray
    session chunks are computed at once on this process. ``max_in_flight`` bounds the tasks running
    at a time; the rest wait in a queue. ``nodes`` counts the chunks each node computed."""

    def __init__(self, space, names: Sequence[str], batch, num_classes: int, init_seed: int,
                 input_shape: Sequence[int], data_dir=None, threads: int = 1, max_in_flight: int | None = None,
                 num_cpus: float = 0, where: str = "auto"):
        if where not in WHERE:
            raise InvalidConfigError(f"proxy scoring must run in one of {WHERE}, got {where!r}")
        self.args = (space, list(names), batch, num_classes, init_seed, tuple(input_shape), data_dir, threads)
        self.max_in_flight = max_in_flight
        self.num_cpus = num_cpus
        self.where = where
        self._task = None
        self._pool = None
        self._queue: list[tuple[int, list]] = []
        self._refs: dict[int, Any] = {}
        self._local: dict[int, Any] = {}
        self._next = 0
        self.nodes: Counter = Counter()

    @classmethod
    def for_scores(cls, scores: ProxyScores, workers: int, where: str = "auto") -> RayScoring:
        """The executor computing ``scores``' networks as ``scores`` would (same proxies, batch,
        initialisation), ``workers`` chunks at a time."""
        return cls(scores.space, scores.names, scores.data if scores.data is not None else scores.batch,
                   scores.num_classes, scores.init_seed, scores.input_shape, scores.data_dir,
                   max_in_flight=workers, where=where)

    def __getstate__(self):
        return {"args": self.args, "max_in_flight": self.max_in_flight, "num_cpus": self.num_cpus,
                "where": self.where}

    def __setstate__(self, state):
        self.__init__(*state["args"], max_in_flight=state["max_in_flight"], num_cpus=state.get("num_cpus", 0),
                      where=state.get("where", "ray"))

    def submit(self, chunk: list) -> int:
        handle, self._next = self._next, self._next + 1
        self._queue.append((handle, chunk))
        self._launch()
        return handle

    def _start(self) -> None:
        """Decide where chunks run (the first time there is one): a thread or Ray tasks."""
        import ray

        where = self.where
        if where == "auto":
            where = "thread" if sum(n["Alive"] for n in ray.nodes()) <= 1 else "ray"
        if where == "thread":
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="raynas-scoring")
        else:
            self._task = ray.remote(num_cpus=self.num_cpus, scheduling_strategy="SPREAD")(_score_chunk)
            self._space_ref = ray.put(self.args[0])

    def _launch(self) -> None:
        import ray

        if not ray.is_initialized():
            for handle, chunk in self._queue:
                self._local[handle] = self._unpack(_score_chunk(self.args[0], chunk, *self.args[1:]))
            self._queue.clear()
            return
        if self._task is None and self._pool is None:
            self._start()
        while self._queue and (self.max_in_flight is None or len(self._refs) < self.max_in_flight):
            handle, chunk = self._queue.pop(0)
            if self._pool is not None:
                self._refs[handle] = self._pool.submit(_score_chunk, self.args[0], chunk, *self.args[1:])
            else:
                self._refs[handle] = self._task.remote(self._space_ref, chunk, *self.args[1:])

    def _ready(self, refs: dict) -> set:
        if self._pool is not None:
            return {h for h, f in refs.items() if f.done()}
        import ray

        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=0)
        ready = set(ready)
        return {h for h, r in refs.items() if r in ready}

    def _get(self, ref):
        if self._pool is not None:
            return self._unpack(ref.result())
        import ray

        return self._unpack(ray.get(ref))

    def done(self, handles: Sequence[int]) -> list:
        out = [(h, self._local.pop(h)) for h in handles if h in self._local]
        refs = {h: self._refs[h] for h in handles if h in self._refs}
        if refs:
            for h in self._ready(refs):
                out.append((h, self._get(self._refs.pop(h))))
        self._launch()
        return out

    def wait(self, handles: Sequence[int]) -> list:
        """Blocks until the chunks ``handles`` are computed; they jump the queue, and when every slot
        is taken by other chunks, the oldest of those is collected (kept for :meth:`done`) to free one."""
        needed = set(handles)
        self._queue.sort(key=lambda item: item[0] not in needed)  # stable: needed chunks first, in order
        while True:
            self._launch()
            launched = [h for h in handles if h in self._refs]
            for h in launched:
                self._local[h] = self._get(self._refs.pop(h))
            if not any(h in needed for h, _ in self._queue):
                break
            if not launched:  # every slot holds another chunk
                self._collect_one()
        return [(h, self._local.pop(h)) for h in handles if h in self._local]

    def _collect_one(self) -> None:
        """Wait for the oldest chunk in flight and keep its values for :meth:`done`."""
        h = next(iter(self._refs))
        self._local[h] = self._get(self._refs.pop(h))

    def _unpack(self, result):
        values, node = result
        if node is not None:
            self.nodes[node] += 1
        return values


def check_scoring(proxy_workers: Any, proxy_where: Any) -> None:
    """Refuse background-scoring settings of a searcher (``proxy_workers``, ``proxy_where``) that cannot work."""
    if not isinstance(proxy_workers, int) or isinstance(proxy_workers, bool) or proxy_workers < 0:
        raise InvalidConfigError(f"proxy_workers must be an integer >= 0, got {proxy_workers!r}")
    if proxy_where not in WHERE:
        raise InvalidConfigError(f"proxy_where must be one of {WHERE}, got {proxy_where!r}")


def make_engine(engine: Any, space, seed: int | None, n_objectives: int):
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
    """Zero-cost warm-up and move proposal (module docstring), for any number of metrics.

    Args:
        space: a raynas space, a Tune ``param_space`` dict, or ``None`` (the Tuner's ``param_space``).
        metric, mode: strings or lists, e.g. ``["accuracy", "latency_ms"]``, ``["max", "min"]``; or
            ``None`` to take ``TuneConfig(metric=..., mode=...)``.
        points_to_evaluate: configs to try first (``evaluated_rewards``: their known results).
        model_fn: ``model_fn(config) -> nn.Module`` for a ``param_space`` space (proxies and costs
            are computed on it); example_inputs: a batch, or an input shape like ``(3, 32, 32)``.
        seed: makes the search deterministic (up to when background scores arrive).
        roles: ``{metric: "quality" | "cost" | "other"}`` where the names do not say it.
        proxy: accuracy proxies (registered names -- ``path_params``, ``synflow``, ``snip``,
            ``jacob_cov``, ``naswot``, ... -- or scorer objects); the first estimates quality
            metrics, all are features of the learned model (default: path_params and synflow,
            both data-free).
        cost: estimate of the cost metrics: a proxy name (``flops``, ``params``), a
            :mod:`raynas.hardware` device (``LocalDevice()`` times each network on this machine, once;
            the driver times them when they fit in 2 s, a background thread the rest)
            or a scorer for all, or ``{metric: any of those}`` (e.g. a latency predictor's ``predict``
            as ``Arch -> float``).
        engine: ``"evolution"`` (aging evolution), ``"random"``, an Optuna sampler name or a Strategy.
        warmup / moves / model / acquisition: the strategy's parts (:mod:`raynas.strategies.parts`).
        proxy_batch: what data proxies see (a :class:`raynas.proxies.BatchSpec`); default
            ``example_inputs`` when it is a batch, else a stand-in batch of that shape.
        proxy_cache_dir: keep proxy values in a CSV there (shared between searches).
        proxy_workers: chunks of scores computed in the background at a time (0: on the driver,
            which then blocks the first suggestion, as do a ``LocalDevice`` cost's timings); outside a
            Ray session they are computed on the driver.
        proxy_where: where background scores are computed: ``"auto"`` (a thread of the driver on a
            one-node cluster, Ray tasks spread over the nodes of a larger one), ``"thread"`` or
            ``"ray"`` (:class:`RayScoring`).
        max_t, time_attr, evaluated_rewards: see :class:`~searchers.strategy_searcher.StrategySearcher`.
    """

    def __init__(self, space=None, metric: Sequence[str] | str | None = None, mode: Sequence[str] | str | None = None,
                 points_to_evaluate: Sequence[Mapping] | None = None, *, model_fn: Callable | None = None,
                 example_inputs: Any = None, seed: int | None = None, roles: Mapping[str, str] | None = None,
                 proxy: Any = ("path_params", "synflow"), cost: Any = None, engine: Any = "evolution",
                 warmup: Warmup | None = None, moves: Moves | None = None, model: Model | str | None = None,
                 acquisition: Acquisition | str | None = None, proxy_batch=None, proxy_cache_dir=None,
                 proxy_workers: int = PROXY_WORKERS, proxy_chunk: int = 25, proxy_where: str = "auto",
                 num_classes: int = 10, data_dir=None,
                 evaluated_rewards: Sequence | None = None, max_t: float | None = None,
                 time_attr: str = "training_iteration"):
        check_scoring(proxy_workers, proxy_where)
        proxies = list(proxy) if isinstance(proxy, (list, tuple)) else [proxy]
        if not proxies:
            raise InvalidConfigError("proxy must name at least one proxy")
        from raynas.proxies import resolve_names

        given = [p for p in proxies if isinstance(p, str)]
        given += [c for c in (cost.values() if isinstance(cost, Mapping) else [cost]) if isinstance(c, str)]
        if given:
            resolve_names(given)  # unknown names raise here
        self._settings = dict(proxies=proxies, cost=cost, engine=engine, seed=seed, warmup=warmup, moves=moves,
                              model=model, acquisition=acquisition, proxy_batch=proxy_batch,
                              proxy_cache_dir=proxy_cache_dir, proxy_workers=proxy_workers,
                              proxy_chunk=proxy_chunk, proxy_where=proxy_where, num_classes=num_classes,
                              data_dir=data_dir)
        self.scores: ProxyScores | None = None
        super().__init__(None, space, metric, mode, points_to_evaluate, evaluated_rewards=evaluated_rewards,
                         roles=roles, max_t=max_t, time_attr=time_attr, model_fn=model_fn,
                         example_inputs=example_inputs)

    def _build_strategy(self, space, objectives: tuple[Objective, ...]) -> ZeroCostStrategy:
        s = self._settings
        costs = [o for o in objectives if o.role == "cost"]
        cost = s["cost"]
        names = [p for p in s["proxies"] if isinstance(p, str)]
        if isinstance(cost, Mapping):
            names += [cost.get(o.metric, default_cost(o)) for o in costs if isinstance(cost.get(o.metric, ""), str)]
        elif isinstance(cost, str):
            names.append(cost)
        elif cost is None:
            names += [default_cost(o) for o in costs]
        if not names:  # every estimate is the caller's own scorer
            self.scores = None
            return self._devices_aside(ZeroCostStrategy(
                space, s["proxies"], cost, objectives=objectives, model=s["model"], warmup=s["warmup"],
                moves=s["moves"], acquisition=s["acquisition"],
                engine=make_engine(s["engine"], space, s["seed"], len(objectives)), seed=s["seed"]))
        scores = ProxyScores(space, list(dict.fromkeys(names)), batch=s["proxy_batch"], num_classes=s["num_classes"],
                             cache_dir=s["proxy_cache_dir"], data_dir=s["data_dir"], chunk_size=s["proxy_chunk"])
        if s["proxy_workers"]:
            scores.executor = RayScoring.for_scores(scores, s["proxy_workers"], s["proxy_where"])
        self.scores = scores

        def scorer(x):
            return scores.scorer(x, "log" if x in LOG_PROXIES else "none") if isinstance(x, str) else x

        proxies = [scorer(p) for p in s["proxies"]]
        if isinstance(cost, Mapping):
            cost_arg = {o.metric: scorer(cost.get(o.metric, default_cost(o))) for o in costs}
        elif cost is None:
            cost_arg = {o.metric: scorer(default_cost(o)) for o in costs}
        else:
            cost_arg = scorer(cost)
        return self._devices_aside(ZeroCostStrategy(
            space, proxies, cost_arg, objectives=objectives, model=s["model"], warmup=s["warmup"], moves=s["moves"],
            acquisition=s["acquisition"], engine=make_engine(s["engine"], space, s["seed"], len(objectives)),
            seed=s["seed"]))

    def _devices_aside(self, strategy: ZeroCostStrategy) -> ZeroCostStrategy:
        """Devices that time networks here hold up the search for at most ~2 s: the rest is timed in a
        background thread, as the proxies are scored (unless ``proxy_workers=0``)."""
        if self._settings["proxy_workers"]:
            for scorer in strategy.scores.costs:
                if isinstance(scorer, DeviceScorer):
                    scorer.inline_s = INLINE_S
        return strategy

    @property
    def proxy_evaluations(self) -> dict[str, int]:
        """Networks whose proxies (and hardware costs) were computed so far: the proxy budget."""
        return self.strategy.estimate_evaluations


__all__ = ["ZeroCostSearch", "make_engine", "RayScoring"]
