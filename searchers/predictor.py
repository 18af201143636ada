"""``PredictorSearch``: predictor-guided multi-objective search as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.predictor.PredictorStrategy` through the generic
:class:`StrategySearcher`: ``suggest`` asks the strategy (candidates scored by predictors, chosen by
expected hypervolume improvement or predicted non-dominance), ``on_trial_complete`` tells it the
trial's metrics (the predictors refit on the next ask), and ``save``/``restore`` go through the
strategy's ``state_dict``.

Two ways to use it:

* On your own ``param_space`` (or any raynas space), with default predictors: one random forest
  for all metrics (:class:`raynas.predictors.ForestPredictor`, each metric standardised; its trees
  give the spread) on the configuration's encoding and its zero-cost scores (Multi-Predict's ZCP
  encoding, computed in the background beside the trials), starting from the zero-cost estimate
  of each metric's role::

      search = PredictorSearch(metric=["accuracy", "latency_ms"], mode=["max", "min"],
                               model_fn=build_model, example_inputs=(1, 28, 28))

* With predictors you built (e.g. a latency predictor transferred from published devices)::

      lat = ObjectiveModel(features=lat_features, model=RaynasTransfer(n_source=k, n_cost=c), prior=transferred)
      acc = ObjectiveModel(features=zcp_features, model=TreePredictor(), prior=zcp_prior)
      search = PredictorSearch.from_models(space, [acc, lat], metric=["accuracy", "latency_ms"], mode=["max", "min"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.strategies.parts import ZeroCostScores
from raynas.strategies.predictor import ObjectiveModel, PredictorStrategy, default_models
from searchers.strategy_searcher import StrategySearcher
from searchers.zero_cost import PROXY_WORKERS, RayScoring, check_scoring

#: how the default predictors' zero-cost features are computed (as ``ZeroCostSearch``'s arguments)
SCORING_KEYS = ("proxy_workers", "proxy_where")

#: zero-cost scores of the default predictors' encoding (data-free: no batch needed)
DEFAULT_ZCP = ("synflow", "path_params", "params", "flops")


class PredictorSearch(StrategySearcher):
    """Suggest what a :class:`PredictorStrategy` proposes (module docstring).

    Args:
        space, metric, mode, points_to_evaluate: as every raynas searcher
            (:class:`~searchers.strategy_searcher.StrategySearcher`).
        strategy: a ready :class:`PredictorStrategy` (its ``signs`` must match ``mode``); default:
            built from the space with :func:`raynas.strategies.predictor.default_models`.
        model_fn, example_inputs: build networks from configs of a ``param_space`` space.
        proxies: zero-cost proxies of the default predictors' encoding.
        regressor: the default predictors' scikit-learn style model.
        seed: makes the search deterministic (in a Ray session, up to when background features arrive).
        **options: ``pool_size``, ``n_mutants``, ``shortlist``, ``acquisition`` of the strategy;
            ``roles``, ``max_t``, ``time_attr``, ``evaluated_rewards`` of the searcher;
            ``proxy_workers`` (default 2) and ``proxy_where`` as :class:`~searchers.ZeroCostSearch`'s:
            the zero-cost features are computed in the background, beside the trials (0: on the
            driver, when first needed), and a suggestion is chosen among the configurations whose
            features are in.
    """

    def __init__(self, space=None, metric: Sequence[str] | str | None = None, mode: Sequence[str] | str | None = None,
                 points_to_evaluate: Sequence[Mapping] | None = None, *, strategy: PredictorStrategy | None = None,
                 model_fn=None, example_inputs=None, proxies: Sequence[str] = DEFAULT_ZCP, regressor: Any = None,
                 seed: int | None = None, **options):
        searcher_keys = ("roles", "max_t", "time_attr", "evaluated_rewards")
        _check_options(options, searcher_keys + SCORING_KEYS)
        searcher_kwargs = {k: options.pop(k) for k in searcher_keys if k in options}
        scoring = {"proxy_workers": options.pop("proxy_workers", PROXY_WORKERS),
                   "proxy_where": options.pop("proxy_where", "auto")}
        check_scoring(**scoring)
        self._settings = dict(proxies=list(proxies), regressor=regressor, seed=seed, options=options, **scoring)
        super().__init__(strategy, space, metric, mode, points_to_evaluate, model_fn=model_fn,
                         example_inputs=example_inputs, **searcher_kwargs)
        if self.strategy is not None and self._objectives is not None:
            if not np.array_equal(np.asarray(self._signs, float), np.asarray(self.strategy.signs, float)):
                raise InvalidConfigError(
                    f"mode {[o.mode for o in self.objectives]} does not match the strategy's signs "
                    f"{list(self.strategy.signs)} (+1 min, -1 max)")

    def _build_strategy(self, space, objectives) -> PredictorStrategy:
        from raynas.strategies.scorers import ProxyScores
        from raynas.strategies.zero_cost import default_cost

        s = self._settings
        costs = [default_cost(o) for o in objectives if o.role == "cost"]
        table = ProxyScores(space, list(dict.fromkeys(s["proxies"] + costs)), inline_s=0)
        if s["proxy_workers"]:
            table.executor = RayScoring.for_scores(table, s["proxy_workers"], s["proxy_where"])
        self.scores = table
        proxy = next(p for p in s["proxies"] if p not in ("params", "flops"))
        scores = ZeroCostScores([table.scorer(n, "log" if n == "synflow" else "none")
                                 for n in [proxy] + [p for p in s["proxies"] if p != proxy]],
                                [table.scorer(c) for c in costs], objectives)
        models = default_models(space, objectives, scores, s["regressor"])
        return PredictorStrategy(space, models, signs=[o.sign for o in objectives], seed=s["seed"], **s["options"])

    @classmethod
    def from_models(cls, space, models: Sequence[ObjectiveModel], metric: Sequence[str], mode: Sequence[str],
                    **strategy_kwargs) -> PredictorSearch:
        """Build the strategy from your models (signs from ``mode``) and adapt it."""
        metric = [metric] if isinstance(metric, str) else list(metric)
        mode = [mode] if isinstance(mode, str) else list(mode)
        signs = moo.minimisation_signs(metric, mode)
        strategy = PredictorStrategy(space, models, signs=signs, **strategy_kwargs)
        return cls(space, metric, mode, strategy=strategy)


def _check_options(options: Mapping[str, Any], searcher_keys: Sequence[str]) -> None:
    """Refuse an option neither the strategy nor the searcher takes now, not when the strategy is
    built (at ``Tuner.fit()``, when the space arrives), with the closest known name."""
    import difflib
    import inspect

    strategy_keys = [k for k in inspect.signature(PredictorStrategy.__init__).parameters
                     if k not in ("self", "space", "models", "signs", "seed")]
    known = [*inspect.signature(PredictorSearch.__init__).parameters, *strategy_keys, *searcher_keys]
    for key in options:
        if key not in strategy_keys and key not in searcher_keys:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidConfigError(f"PredictorSearch got an unknown option {key!r}{hint}")


__all__ = ["PredictorSearch", "DEFAULT_ZCP"]
