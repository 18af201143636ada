"""Population-level ensembles of proxies: the paper's ``vote`` and a general rank ensemble.

Both take a table of proxy values (rows = architectures, columns = proxies; a pandas DataFrame or a
``{name: array}`` mapping) and return one score per architecture, higher is better. A NaN (failed)
proxy value counts as the worst value of its column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from raynas.errors import InvalidConfigError

#: The paper's vote: synflow, jacob_cov and snip.
VOTE_MEMBERS = ("synflow", "jacob_cov", "snip")
RANK_MEMBERS = ("grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov")


def _columns(table, members: Sequence[str]) -> np.ndarray:
    missing = [m for m in members if m not in table]
    if missing:
        have = list(table.columns) if hasattr(table, "columns") else list(table)
        raise InvalidConfigError(f"the proxy table lacks {missing} (it has {have})")
    s = np.column_stack([np.asarray(table[m], dtype=float) for m in members])
    return np.where(np.isfinite(s), s, -np.inf)


def _majority_ahead(block: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``[b, n]``: True where at least half of the proxies score row i of ``block`` strictly above j."""
    ahead = (block[:, None, :] > scores[None, :, :]).sum(axis=2)
    return ahead >= scores.shape[1] / 2


def vote(table, members: Sequence[str] = VOTE_MEMBERS, chunk: int = 256) -> np.ndarray:
    """Each architecture's share of the others it beats by majority vote of ``members``.

    "i beats j" is the reference notebook's rule: at least half of the proxies score i strictly
    higher than j. The share of wins is a total order made from the pairwise votes (Copeland's
    method), so it can be rank-correlated with accuracy; :func:`pairwise_accuracy` gives the
    paper's own vote figure."""
    s = _columns(table, members)
    n = len(s)
    wins = np.zeros(n)
    for start in range(0, n, chunk):
        wins[start:start + chunk] = _majority_ahead(s[start:start + chunk], s).sum(axis=1)
    return wins / max(n - 1, 1)


def pairwise_accuracy(table, truth, members: Sequence[str] = VOTE_MEMBERS, chunk: int = 256) -> float:
    """Fraction of ordered pairs (i, j) with different ``truth`` that the majority vote orders as
    ``truth`` does — the number the paper reports for ``vote`` (0.82 on NB201 CIFAR-10); not a
    Spearman ρ."""
    s = _columns(table, members)
    t = np.asarray(truth, dtype=float)
    if len(t) != len(s):
        raise InvalidConfigError(f"truth has {len(t)} values for {len(s)} architectures")
    right = total = 0
    for start in range(0, len(s), chunk):
        pred = _majority_ahead(s[start:start + chunk], s)
        diff = t[start:start + chunk, None] - t[None, :]
        valid = diff != 0
        right += int(np.sum(valid & (pred == (diff > 0))))
        total += int(valid.sum())
    return right / total if total else float("nan")


def rank_ensemble(table, members: Sequence[str] | None = None, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted mean of each proxy's normalised rank (0 = worst, 1 = best) over ``members``
    (default: the paper's six that the table has)."""
    from scipy.stats import rankdata

    if members is None:
        members = [m for m in RANK_MEMBERS if m in table]
        if not members:
            raise InvalidConfigError(f"rank_ensemble found none of {RANK_MEMBERS} in the table")
    s = _columns(table, members)
    w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(members),) or np.any(w < 0) or w.sum() <= 0:
        raise InvalidConfigError(f"weights {weights!r} must be {len(members)} non-negative numbers, not all zero")
    ranks = np.column_stack([(rankdata(s[:, j]) - 1) / max(len(s) - 1, 1) for j in range(s.shape[1])])
    return ranks @ (w / w.sum())


ENSEMBLES = {"vote": vote, "rank_ensemble": rank_ensemble}


def ensemble_members(name: str) -> tuple[str, ...]:
    """The proxies an ensemble reads when :func:`~raynas.proxies.score_architectures` computes it."""
    return {"vote": VOTE_MEMBERS, "rank_ensemble": RANK_MEMBERS}[name]


def as_table(values: Mapping[str, Sequence[float]]):
    """A ``{name: values}`` mapping as a DataFrame (for calling the ensembles on plain arrays)."""
    import pandas as pd

    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in values.items()})
