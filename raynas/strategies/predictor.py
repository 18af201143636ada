"""Predictor-guided multi-objective search (Multi-Predict's predictors used inside a search).

:class:`PredictorStrategy` keeps :class:`ObjectiveModel` s covering its objectives (one per
objective, or one estimating several at once: one fit for all). Each model starts from a
*transferred* prediction (``prior``: e.g. a latency predictor transferred from source devices with
a few target samples, or a zero-cost-proxy accuracy estimate) and, once ``min_fit`` results are
told, is refitted on the told architectures (a bootstrap ensemble gives a mean and a spread). Every
``ask`` scores a candidate pool (random architectures plus one-decision mutants of the told front)
and proposes by

* ``"ehvi"`` (default): the expected hypervolume improvement over the told front under independent
  Gaussians ``N(mean, spread)`` per objective (exact for any number of objectives, the shared
  :class:`~raynas.strategies.parts.Acquisition`), on the candidates of the first predicted
  non-dominated fronts (``shortlist``);
* ``"nondominated"``: a random member of the predicted non-dominated set of the pool, preferring
  the largest crowding distance (a spread of the predicted front).

Objectives are minimised (as every raynas strategy); ``signs`` converts them back to the metric's
own sign for the models (``-1`` for a maximised accuracy), so a model sees accuracy, not its
negation. Refits happen lazily on the next ``ask`` and draw no random numbers (bootstrap
resamples come from a generator seeded by the number of told results), so ``load_state_dict``
replays the history exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import copy
import functools

import numpy as np

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.evolution import unseen
from raynas.strategies.base import Arch, Strategy
from raynas.strategies.parts import CHOICES, Acquisition, as_part, preference_choice, refine
from raynas.predictors.surrogates import Posterior

ACQUISITIONS = ("ehvi", "hvi", "preference", "nondominated")


class CachedFeatures:
    """Memoise ``fn(list[Arch]) -> [n, d]`` per architecture (features can cost a network build).

    ``ready(archs) -> bools`` and ``prefetch(archs)`` (optional, e.g. a
    :class:`~raynas.strategies.parts.ZeroCostScores`' own) say which architectures ``fn`` answers
    without computing now and start the others in the background; without them every
    architecture counts as ready."""

    def __init__(self, fn: Callable[[list[Arch]], np.ndarray], ready: Callable | None = None,
                 prefetch: Callable | None = None):
        self.fn = fn
        self.cache: dict[Arch, np.ndarray] = {}
        self._ready, self._prefetch = ready, prefetch

    def ready(self, archs: Sequence[Arch]) -> np.ndarray:
        """Which of ``archs`` have their features (or can have them without computing a network now)."""
        if self._ready is None:
            return np.ones(len(archs), dtype=bool)
        out = np.array([tuple(a) in self.cache for a in archs], dtype=bool)
        todo = np.flatnonzero(~out)
        if len(todo):
            out[todo] = np.asarray(self._ready([tuple(archs[i]) for i in todo]), dtype=bool)
        return out

    def prefetch(self, archs: Sequence[Arch]) -> None:
        """Start computing the features of ``archs`` in the background, where that is possible."""
        if self._prefetch is not None:
            self._prefetch([tuple(a) for a in archs if tuple(a) not in self.cache])

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        archs = [tuple(a) for a in archs]
        todo = list(dict.fromkeys(a for a in archs if a not in self.cache))
        if todo:
            rows = np.asarray(self.fn(todo), dtype=np.float64).reshape(len(todo), -1)
            self.cache.update(zip(todo, rows))
        return np.stack([self.cache[a] for a in archs]) if archs else np.zeros((0, 0))


class ObjectiveModel:
    """Estimate one objective (in its metric's own sign), or several at once, for any architecture.

    Args:
        features: ``list[Arch] -> [n, d]`` encoding given to ``model`` (memoised here).
        model: a scikit-learn style regressor (deep-copied for every refit, so a pre-trained
            transfer model keeps what it learned from the sources), e.g.
            :class:`raynas.predictors.RaynasTransfer` on ``[source latencies | costs | features]``
            or a :class:`raynas.predictors.TreePredictor` on a ZCP encoding.
        prior: ``list[Arch] -> values``, the transferred prediction used until ``min_fit`` results
            are told (``None``, or a column of NaN: no information, every candidate equal).
        prior_spread: relative spread assumed for the prior (times the prior's own standard
            deviation over the candidates).
        min_fit: told results needed before ``model`` replaces the prior.
        n_boot: bootstrap refits whose spread is the uncertainty (1: no spread).
        seed: seeds the bootstrap resamples (together with the number of told results).
        outputs: objectives estimated by this one model (a regressor taking ``[n, outputs]``
            targets, such as :class:`raynas.predictors.ForestPredictor`: one fit for all of them, on
            standardised columns); values, priors and estimates then have ``outputs`` columns.
    """

    def __init__(self, features: Callable[[list[Arch]], np.ndarray], model, prior: Callable | None = None,
                 prior_spread: float = 0.25, min_fit: int = 5, n_boot: int = 5, seed: int = 0, outputs: int = 1):
        if min_fit < 2:
            raise InvalidConfigError(f"min_fit must be >= 2, got {min_fit}")
        if n_boot < 1:
            raise InvalidConfigError(f"n_boot must be >= 1, got {n_boot}")
        if isinstance(outputs, bool) or not isinstance(outputs, (int, np.integer)) or outputs < 1:
            raise InvalidConfigError(f"outputs must be an integer >= 1, got {outputs!r}")
        self.features = features if isinstance(features, CachedFeatures) else CachedFeatures(features)
        self.model = model
        self.prior = prior
        self.prior_spread = prior_spread
        self.min_fit = min_fit
        self.n_boot = n_boot
        self.seed = seed
        self.outputs = int(outputs)
        self.reset()

    def reset(self) -> None:
        self.archs: list[Arch] = []
        self.values: list = []
        self.members: list = []
        self._fitted_on = 0
        self._scale = (0.0, 1.0)

    def update(self, arch: Arch, value) -> None:
        """Record one told result: a value, or ``outputs`` of them (a result with a non-finite value
        is ignored: a failed trial says nothing)."""
        value = np.asarray(value, dtype=float).reshape(-1)
        if len(value) != self.outputs:
            raise InvalidConfigError(f"this model estimates {self.outputs} objectives, got {len(value)} values")
        if np.all(np.isfinite(value)):
            self.archs.append(tuple(arch))
            self.values.append(value if self.outputs > 1 else float(value[0]))

    @property
    def fitted(self) -> bool:
        return len(self.values) >= self.min_fit

    def _refit(self) -> None:
        n = len(self.values)
        if self._fitted_on == n:
            return
        X, y = self.features(self.archs), np.asarray(self.values)
        if self.outputs > 1:  # one fit for all columns: each on one scale, so none dominates the splits
            sd = y.std(0)
            self._scale = (y.mean(0), np.where(sd > 0, sd, 1.0))
            y = (y - self._scale[0]) / self._scale[1]
        rng = np.random.default_rng([self.seed, n])
        members = [copy.deepcopy(self.model).fit(X, y)]
        for _ in range(self.n_boot - 1):
            for _attempt in range(10):  # a resample needs at least two distinct values
                b = rng.choice(n, n, replace=True)
                if np.ptp(y[b]) > 0:
                    break
            members.append(copy.deepcopy(self.model).fit(X[b], y[b]))
        self.members, self._fitted_on = members, n

    def predict(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, spread)`` per architecture (``[n]``, or ``[n, outputs]`` for several objectives)."""
        archs = [tuple(a) for a in archs]
        if not self.fitted:
            return self._prior(archs)
        self._refit()
        X = self.features(archs)
        if len(self.members) == 1 and hasattr(self.members[0], "predict_members"):  # an ensemble in one fit
            P = np.asarray(self.members[0].predict_members(X), dtype=float)
            mean, spread = P.mean(0), P.std(0)
        else:
            P = np.stack([m.predict(X) for m in self.members])
            mean, spread = P[0], P.std(0) if len(P) > 1 else np.zeros(P.shape[1:])
        center, scale = self._scale
        return mean * scale + center, spread * scale

    def _prior(self, archs: list[Arch]) -> tuple[np.ndarray, np.ndarray]:
        n, k = len(archs), self.outputs
        p = np.full((n, k), np.nan) if self.prior is None else \
            np.asarray(self.prior(archs), dtype=float).reshape(n, k)
        mean, spread = np.zeros((n, k)), np.ones((n, k))
        for j in range(k):
            col = p[:, j]
            if np.all(np.isnan(col)):
                continue
            sd = np.std(col) if n > 1 else abs(float(col[0])) if n else 1.0
            mean[:, j], spread[:, j] = col, self.prior_spread * (sd if sd > 0 else 1.0)
        return (mean, spread) if k > 1 else (mean[:, 0], spread[:, 0])


def expected_hvi(front: np.ndarray, mean: np.ndarray, spread: np.ndarray, reference: np.ndarray,
                 acquisition: Acquisition | None = None) -> np.ndarray:
    """Expected hypervolume improvement of each candidate (rows of ``mean``/``spread``, minimised,
    independent Gaussians; a zero spread is a point mass) over ``front``, bounded by ``reference``:
    the shared :class:`~raynas.strategies.parts.Acquisition` (exact for any number of objectives)."""
    mean, spread = np.asarray(mean, float), np.asarray(spread, float)
    finite = np.isfinite(mean)
    beyond = np.asarray(reference, dtype=float) + 1.0  # a failed estimate: a point past the reference, no gain
    gaussian = Posterior(np.where(finite, mean, beyond), np.where(finite, spread, 0.0))
    zero, one = np.zeros(mean.shape[1]), np.ones(mean.shape[1])
    return (acquisition or Acquisition()).gains(np.asarray(front, float).reshape(-1, mean.shape[1]),
                                                np.where(finite, mean, beyond), np.where(finite, spread, 0.0),
                                                gaussian.cdf, gaussian.optimistic(), reference, zero, one)


class PredictorStrategy(Strategy):
    """Propose configurations by predicted non-dominance / expected hypervolume improvement.

    Args:
        space: the search space.
        models: :class:`ObjectiveModel` s covering the objectives in the searcher's metric order
            (one each, or one estimating several: its ``outputs`` consecutive objectives).
        signs: per objective ``+1`` (metric minimised) or ``-1`` (maximised): objectives arrive
            minimised and are multiplied by the sign before reaching the models.
        acquisition: an :class:`~raynas.strategies.parts.Acquisition` (or its kind, ``"ehvi"`` by
            default, exact for any number of objectives), or ``"nondominated"`` (see the module docstring).
        pool_size: random candidates scored per ask.
        n_mutants: one-dimension mutants of told front members added to the pool per ask.
        candidates: optional finite list of configurations to draw the pool from (a tabulated
            space); default: ``space.sample``.
        shortlist: candidates (best predicted fronts first) whose EHVI is computed.
        refine: once a model is fitted, rounds of coordinate search of the acquisition over the keys
            the network does not depend on (a learning rate) after a candidate is chosen
            (:func:`~raynas.strategies.parts.refine`, as ``ZeroCostStrategy``'s ``Moves.refine``;
            spaces without such keys and tabulated ``candidates`` are unaffected). Off by default:
            the default forest's steps in a learning rate are coarse, and on the bring-your-own CNN
            space (``benchmarks/byo_search.py``, seeds 0-4, 2 and 3 objectives) ``refine=2`` was
            ahead of 0 in 3 of 10 runs at 80 trials (mean HV difference -.028 with 2 objectives, -.009
            with 3; ``benchmarks/out/byo_predictor_refine.md``) and cost 15-20 % more searcher time.
        seed: seeds the pool.

    Example::

        strategy = PredictorStrategy(space, [accuracy_model, latency_model], signs=[-1, 1], seed=0)
    """

    def __init__(self, space, models: Sequence[ObjectiveModel], signs: Sequence[float] | None = None,
                 acquisition: Acquisition | str = "ehvi", pool_size: int = 256, n_mutants: int = 32,
                 candidates: Sequence[Arch] | None = None, shortlist: int = 24, refine: int = 0,
                 seed: int | None = None):
        models = list(models)
        if not models:
            raise InvalidConfigError("PredictorStrategy needs at least one ObjectiveModel")
        super().__init__(space, seed, sum(m.outputs for m in models))
        self.nondominated = acquisition == "nondominated"
        if not self.nondominated:
            if isinstance(acquisition, str) and acquisition not in CHOICES:
                raise InvalidConfigError(f"acquisition must be one of {CHOICES + ('nondominated',)}, got {acquisition!r}")
            self.acquisition = as_part(Acquisition, acquisition, "acquisition")
        signs = [1.0] * self.n_objectives if signs is None else [float(s) for s in signs]
        if len(signs) != self.n_objectives or any(s not in (1.0, -1.0) for s in signs):
            raise InvalidConfigError(f"signs must be {self.n_objectives} values of +1/-1, got {signs}")
        if pool_size < 1:
            raise InvalidConfigError(f"pool_size must be >= 1, got {pool_size}")
        if isinstance(refine, bool) or not isinstance(refine, (int, np.integer)) or refine < 0:
            raise InvalidConfigError(f"refine must be an integer >= 0, got {refine!r}")
        self.refine = int(refine)
        self.models = models
        self.signs = np.asarray(signs)
        self.pool_size = pool_size
        self.n_mutants = n_mutants
        self.candidates = [tuple(a) for a in candidates] if candidates is not None else None
        self.shortlist = shortlist

    # --- derived state ----------------------------------------------------------------------------
    def _observe(self, arch: Arch, values: tuple[float, ...]) -> None:
        own = np.asarray(values, dtype=float) * self.signs
        start = 0
        for m in self.models:
            m.update(arch, own[start:start + m.outputs])
            start += m.outputs

    def _reset_derived(self) -> None:
        for m in self.models:
            m.reset()

    # --- proposal ---------------------------------------------------------------------------------
    def _pool(self) -> list[Arch]:
        if self.candidates is not None:
            idx = self.rng.choice(len(self.candidates), min(self.pool_size, len(self.candidates)), replace=False)
            pool = [self.candidates[i] for i in idx]
        else:
            many = getattr(self.space, "sample_many", None)
            pool = many(self.rng, self.pool_size) if many is not None else \
                [self.space.sample(self.rng) for _ in range(self.pool_size)]
        front, _ = self._told_front()
        if front and self.n_mutants > 0:
            cand_set = set(self.candidates) if self.candidates is not None else None
            for _ in range(self.n_mutants):
                child = tuple(self.space.mutate(front[int(self.rng.integers(len(front)))], self.rng))
                if cand_set is None or child in cand_set:
                    pool.append(child)
        return unseen(pool, self.seen)

    def _ready_part(self, pool: list[Arch]) -> list[Arch]:
        """The candidates whose features are in (the others start computing in the background, for a
        later ask); none while nothing is in yet."""
        features = list({id(m.features): m.features for m in self.models}.values())

        def ready():
            ok = np.ones(len(pool), dtype=bool)
            for f in features:
                ok &= f.ready(pool)
            return ok

        ok = ready()
        if ok.all():
            return pool
        for f in features:
            f.prefetch([a for a, r in zip(pool, ok) if not r])
        ok = ready()  # what a prefetch computed at once (no background) is in now
        return [a for a, r in zip(pool, ok) if r]

    def _told_front(self) -> tuple[list[Arch], np.ndarray]:
        if len(self.history) == 0:
            return [], np.zeros((0, self.n_objectives))
        return self.front()

    def estimates(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """Minimised ``(mean, spread)`` matrices ``[n, n_objectives]`` of the current models."""
        means, spreads = zip(*(m.predict(archs) for m in self.models))
        n = len(archs)
        return (np.hstack([np.reshape(m, (n, -1)) for m in means]) * self.signs,
                np.hstack([np.reshape(s, (n, -1)) for s in spreads]))

    def _propose(self) -> Arch:
        drawn = self._pool()
        if not drawn:  # everything seen: fall back to random (the space permitting)
            return self.space.sample(self.rng)
        pool = self._ready_part(drawn)
        if not pool:  # no features in yet (they are computed in the background): a random candidate
            return drawn[0]
        mu, sd = self.estimates(pool)
        ranks = moo.nondominated_ranks(mu, until=1 if self.nondominated else self.shortlist)  # only the best are read
        if self.nondominated:
            first = np.flatnonzero(ranks == ranks.min())
            crowd = moo.crowding_distance(mu[first])
            best = first[np.flatnonzero(crowd == crowd.max())]
            return pool[int(best[self.rng.integers(len(best))])]
        _, told = self._told_front()
        both = np.vstack([told, mu]) if len(told) else mu
        norm = moo.Normaliser.fit(both)
        ref = np.full(mu.shape[1], 1.1)
        order = np.lexsort((self.rng.random(len(pool)), ranks))[: self.shortlist]
        span = np.where(norm.high > norm.low, norm.high - norm.low, 1.0)
        if self.acquisition.kind == "preference":
            return pool[int(order[preference_choice(mu[order], self.rng)])]
        told = norm(told) if len(told) else np.zeros((0, mu.shape[1]))
        gain = expected_hvi(told, norm(mu[order]), sd[order] / span, ref, self.acquisition)
        best = pool[int(order[int(np.argmax(gain))])]
        if self.candidates is not None or not any(m.fitted for m in self.models):
            return best  # a tabulated space's configurations are its table's; a prior knows no learning rate

        def gains(cands):
            mu_c, sd_c = self.estimates(cands)
            return expected_hvi(told, norm(mu_c), sd_c / span, ref, self.acquisition)

        return refine(best, self.space, self.refine, gains, self.seen)

    def _extra_state(self) -> dict[str, Any]:
        return {}


def default_models(space, objectives: Sequence, scores, regressor=None, min_fit: int = 5,
                   n_boot: int | None = None, joint: bool | None = None) -> list[ObjectiveModel]:
    """The :class:`ObjectiveModel` s of any space's objectives: features are the configuration's
    encoding and its zero-cost scores (a :class:`~raynas.strategies.parts.ZeroCostScores`: the
    ZCP encoding of Multi-Predict), the prior until ``min_fit`` results the objective's zero-cost
    estimate (proxies for quality, cost proxies for costs; none for ``other``).

    The default regressor is a :class:`raynas.predictors.ForestPredictor` (its trees give the
    spread from one fit; ``n_boot`` 1, as for any regressor with ``predict_members``). Another
    regressor (e.g. ``TreePredictor()``, gradient boosting) gets ``n_boot`` bootstrap refits
    (default 5) for its spread: seconds per suggestion where the forest takes tens of milliseconds.

    ``joint``: one model for every objective (a regressor taking several target columns, as the
    forest does: one fit per suggestion instead of one per objective) or one per objective;
    ``None``: joint when the regressor says it takes several columns (scikit-learn's
    ``multi_output`` tag)."""
    from raynas.predictors import ForestPredictor
    from raynas.spaces.params import encode_all

    if regressor is None:
        regressor = ForestPredictor()
    if n_boot is None:
        n_boot = 1 if hasattr(regressor, "predict_members") else 5
    if joint is None:
        joint = len(objectives) > 1 and _multi_output(regressor)

    checked = []

    def checked_scores(archs):
        sc = scores.scores(list(archs))
        if not checked and len(archs) >= 2:  # the first networks: a model_fn or input shape that cannot run is said
            scores.check(list(archs), sc)
            checked.append(True)
        return sc

    def features(archs):
        enc = np.asarray(encode_all(space, archs), dtype=float)
        sc = checked_scores(archs)
        return np.hstack([enc, np.where(np.isfinite(sc), sc, 0.0)])

    shared = CachedFeatures(features, ready=scores.ready, prefetch=scores.prefetch)
    signs = np.array([o.sign for o in objectives], dtype=float)
    known = np.array([o.role != "other" for o in objectives])

    def prior(archs, cols=slice(None)):  # the zero-cost estimates in the metrics' own sign; NaN: none
        est = scores.static(checked_scores(archs)) * signs
        return np.where(known, est, np.nan)[:, cols]

    if joint:
        return [ObjectiveModel(shared, regressor, prior=prior, min_fit=min_fit, n_boot=n_boot,
                               outputs=len(objectives))]
    return [ObjectiveModel(shared, regressor, prior=functools.partial(prior, cols=j) if known[j] else None,
                           min_fit=min_fit, n_boot=n_boot, seed=j) for j in range(len(objectives))]


def _multi_output(regressor) -> bool:
    try:
        return bool(regressor.__sklearn_tags__().target_tags.multi_output)
    except AttributeError:
        return False


def transferred_latency_model(table, target: str | None = None, samples: dict | None = None,
                              sources: Sequence[str] | None = None, min_fit: int = 5, n_boot: int = 5,
                              cache_dir=None, **model_kwargs) -> ObjectiveModel:
    """An :class:`ObjectiveModel` of a device's latency, transferred from a published table's devices.

    ``table`` is a :class:`raynas.predictors.SpaceTable`; architectures are encoded by their
    latencies on ``sources`` (default: every column but ``target``) and their analytic costs, and
    the model is a :class:`raynas.predictors.RaynasTransfer` pre-trained on every architecture of the
    table (no target latency). The prior is that model fitted on ``samples`` (``{arch: latency}``,
    e.g. the target device's measured reference architectures) when given, otherwise the sources'
    median latency. Candidates must be architectures of the table (``PredictorStrategy(...,
    candidates=table.archs)``); the table's features are computed (or read from ``cache_dir``) once."""
    from raynas.errors import UnknownNameError
    from raynas.predictors import RaynasTransfer, transfer_encoding

    names = list(sources) if sources is not None else [d for d in table.devices if d != target]
    for d in names:
        if d not in table.devices:
            raise UnknownNameError(f"source device {d!r} is not a column of the {table.space_name} table; "
                                   f"known: {', '.join(table.devices)}")
    if target is not None and target in names:
        raise InvalidConfigError(f"target device {target!r} cannot also be a source")
    S = table.latency[:, [table.devices.index(d) for d in names]]
    X, k, c = transfer_encoding(S, table.features(cache_dir=cache_dir))
    row = {tuple(a): i for i, a in enumerate(table.archs)}

    def rows(archs):
        try:
            return [row[tuple(a)] for a in archs]
        except KeyError as exc:
            raise InvalidConfigError(f"architecture {exc.args[0]} is not in the {table.space_name} table") from None

    model = RaynasTransfer(n_source=k, n_cost=c, **model_kwargs).pretrain(X)
    if samples:
        archs = list(samples)
        fitted = copy.deepcopy(model).fit(X[rows(archs)], np.array([samples[a] for a in archs], dtype=float))

        def prior(archs):
            return fitted.predict(X[rows(archs)])
    else:
        def prior(archs):
            return np.median(S[rows(archs)], axis=1)

    return ObjectiveModel(lambda archs: X[rows(archs)], model, prior=prior, min_fit=min_fit, n_boot=n_boot)
