"""Representation similarity between a reference model and a candidate on one batch (RMI).

"Representation Mutual Information" as RMI-NAS (Fei et al.; public code ``xfey/RMI-NAS``) and
HW-EvRSNAS (Sinha et al., WACV 2024) compute it is **linear CKA**, used as a surrogate of the mutual
information between hidden representations (CKA is a normalised HSIC, a kernel dependence measure):

* features: the outputs of matched layers (NB201: the end of each of the three stages — after
  cell ``N-1``, after cell ``2N`` and the final BatchNorm-ReLU, :meth:`NB201Network.stage_ends`; a
  ResNet: the end of its three stages) on one batch of ``n`` inputs, each flattened to ``[n, d]``;
* Gram form: ``K = X Xᵀ`` and ``L = Y Yᵀ`` (``n x n``, so widths, depths and spatial sizes may
  differ and memory is ``O(n²)``), centred ``K' = H K H`` with ``H = I - 11ᵀ/n`` (equivalent to
  centring the features);
* linear CKA ``= <K', L'>_F / (‖K'‖_F ‖L'‖_F) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`` on centred features,
  in ``[0, 1]``, invariant to orthogonal transforms (channel permutations included) and isotropic
  scaling of either representation;
* **RMI score = Σ over matched stages of CKA** (3 for a model compared with itself on NB201); the
  RMI-NAS loss is ``S - Σ CKA`` (``3 - ΣCKA``), see :attr:`RMIResult.loss`.

Alternative estimators (``estimator=``), the ones RMI-NAS's own utilities define; RMI-NAS defines no
other mutual-information estimator:

* ``"linear_debiased"``: CKA from the unbiased HSIC U-statistic (Song et al. 2007, in the form of
  Székely & Rizzo 2014): diagonal of each Gram zeroed and a U-centring; may be slightly negative;
* ``"rbf"``: CKA with Gaussian kernels ``exp(-‖xi-xj‖² / (2 t² median(‖xi-xj‖²)))``, ``t`` =
  ``rbf_threshold`` (default 1) — a non-linear dependence measure; invariant to orthogonal
  transforms but to isotropic scaling only through the median bandwidth (which it is).

Two ways to score a candidate (``fit=``):

* ``fit=None`` (default; HW-EvRSNAS as this project reads it: "one batch, no training"): the
  candidate at a fixed, seeded initialisation, BatchNorm with batch statistics;
* ``fit=FitSettings(steps=...)`` (RMI-NAS's protocol): train the candidate on that single batch for
  ``steps`` SGD steps (RMI-NAS: 150 steps, lr 0.1, momentum 0.9, weight decay 5e-4, batch 32) on the
  mixed loss ``β (S - ΣCKA) + (1-β) CE`` with ``β = 0.8``, then score. RMI-NAS ranks by that loss:
  ``SimilarityScorer(rank_by="rminas_loss")``; :class:`RMIResult` carries both.

Linear CKA between any two feature tensors is :func:`linear_cka` (or :func:`cka` with another
estimator); :func:`rmi_score` / :class:`ReferenceRepresentation` sum it over matched stages.

Measured (``benchmarks/rmi_search.py``, defaults; Fashion-MNIST, reference NB201 all-3x3 C=16 N=2
at 85.4 %, candidates C=8 N=1, one batch of 64, cells trained 3 epochs on 3,000 images and tested on
2,000), Spearman with test accuracy over two seeded samples of 30 cells (seed 0 | seed 1 | pooled 60):
RMI at initialisation -0.13 | 0.08 | -0.02, last-stage CKA -0.30 | 0.11 | -0.09, RBF -0.26 | -0.04 |
-0.16 — **at this scale the at-init score does not rank architectures** (no BatchNorm-mode variant
helps); RMI after a 30-step one-batch fit 0.50 | 0.32 | 0.42, RMI-NAS's mixed loss after that fit
0.65 | 0.43 | 0.54; for comparison synflow 0.47 | 0.54 | 0.49 and #params 0.35 | 0.53 | 0.44. The
fitted scores cost ~5-6 s per cell on the loaded 2-core machine (~50x the at-init score, ~1/5 of the
3-epoch training).

Degenerate features (a stage whose outputs are identical for every input, e.g. an NB201 cell of
``none`` ops) have a zero centred Gram; their CKA is defined as 0 rather than NaN.
RMI-NAS additionally chooses the batch as the ``n`` pool images the reference classifies with the
lowest loss: :func:`select_batch`. One deliberate difference: RMI-NAS's script leaves its reference
in train mode (BatchNorm batch statistics); :class:`ReferenceRepresentation` uses the reference's
trained statistics by default (``train_mode=True`` reproduces RMI-NAS).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from raynas.errors import InvalidConfigError
from raynas.rng import cpu_seeded

ESTIMATORS = ("linear", "linear_debiased", "rbf")
RANK_BY = ("rmi", "rminas_loss")

Layers = Sequence[nn.Module | str] | None


# --- similarity on Gram matrices -----------------------------------------------------------------
def gram_linear(x: torch.Tensor) -> torch.Tensor:
    """``X Xᵀ`` of features flattened to ``[n, d]`` (float64)."""
    x = x.reshape(x.shape[0], -1).to(torch.float64)
    return x @ x.T


def gram_rbf(x: torch.Tensor, threshold: float = 1.0) -> torch.Tensor:
    """Gaussian-kernel Gram with bandwidth ``threshold`` x the median squared distance (RMI-NAS's)."""
    x = x.reshape(x.shape[0], -1).to(torch.float64)
    dots = x @ x.T
    sq = torch.diagonal(dots)
    dist = (sq[:, None] + sq[None, :] - 2 * dots).clamp_min(0)
    med = torch.median(dist)
    if med <= 0:
        return torch.ones_like(dist)
    return torch.exp(-dist / (2 * threshold**2 * med))


def center_gram(gram: torch.Tensor, unbiased: bool = False) -> torch.Tensor:
    """``H K H`` (or the U-statistic centring for the unbiased HSIC). Returns a new tensor."""
    gram = gram.clone()
    n = gram.shape[0]
    if unbiased:
        if n < 4:
            raise InvalidConfigError(f"the debiased CKA needs a batch of at least 4 inputs, got {n}")
        gram.fill_diagonal_(0)
        means = gram.sum(0) / (n - 2)
        means = means - means.sum() / (2 * (n - 1))
        gram = gram - means[:, None] - means[None, :]
        gram.fill_diagonal_(0)
    else:
        means = gram.mean(0)
        means = means - means.mean() / 2
        gram = gram - means[:, None] - means[None, :]
    return gram


def cka_from_centered(kc: torch.Tensor, lc: torch.Tensor) -> torch.Tensor:
    """CKA of two centred Grams, a 0-d tensor (differentiable); 0 when either is degenerate."""
    denom = torch.linalg.norm(kc) * torch.linalg.norm(lc)
    if not torch.isfinite(denom) or denom == 0:
        return torch.zeros((), dtype=kc.dtype)
    return (kc * lc).sum() / denom


def _gram(x: torch.Tensor, estimator: str, rbf_threshold: float) -> torch.Tensor:
    """Centred Gram of ``x``; all zeros when the features do not vary across inputs (up to rounding)."""
    raw = gram_rbf(x, rbf_threshold) if estimator == "rbf" else gram_linear(x)
    centred = center_gram(raw, unbiased=estimator == "linear_debiased")
    if torch.linalg.norm(centred.detach()) <= 1e-10 * torch.linalg.norm(raw.detach()):
        return torch.zeros_like(centred)
    return centred


def _check_estimator(estimator: str) -> None:
    if estimator not in ESTIMATORS:
        raise InvalidConfigError(f"unknown similarity estimator {estimator!r}; choose one of {list(ESTIMATORS)}")


def cka(x: torch.Tensor, y: torch.Tensor, estimator: str = "linear", rbf_threshold: float = 1.0) -> float:
    """CKA between two feature tensors ``[n, ...]`` over the same ``n`` inputs (any widths)."""
    _check_estimator(estimator)
    if x.shape[0] != y.shape[0]:
        raise InvalidConfigError(f"CKA needs the same inputs on both sides: got {x.shape[0]} and {y.shape[0]} rows")
    if x.shape[0] < 2:
        raise InvalidConfigError("CKA needs a batch of at least 2 inputs")
    with torch.no_grad():
        return float(cka_from_centered(_gram(x, estimator, rbf_threshold), _gram(y, estimator, rbf_threshold)))


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA ``‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`` on centred, flattened features (Gram form)."""
    return cka(x, y, "linear")


# --- capturing features --------------------------------------------------------------------------
def resolve_layers(model: nn.Module, layers: Layers = None) -> list[nn.Module]:
    """The modules to compare: ``layers`` given as modules or as names (``model.get_submodule``),
    else ``model.stage_ends()`` when the model defines it (NB201, the reference ResNet)."""
    if layers is None:
        if hasattr(model, "stage_ends"):
            return list(model.stage_ends())
        raise InvalidConfigError(
            f"{type(model).__name__} has no stage_ends(); pass the layers to compare (names or modules), "
            f"e.g. one of {[n for n, _ in model.named_children()][:8]}")
    out = []
    for layer in layers:
        if isinstance(layer, nn.Module):
            out.append(layer)
            continue
        try:
            out.append(model.get_submodule(str(layer)))
        except AttributeError:
            names = [n for n, _ in model.named_modules() if n][:12]
            raise InvalidConfigError(
                f"{type(model).__name__} has no layer {layer!r}; its layers include {names}") from None
    if not out:
        raise InvalidConfigError("no layers to compare")
    return out


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(out, dict):
        for o in out.values():
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


@contextlib.contextmanager
def _preserved(model: nn.Module, train: bool):
    """Run ``model`` in train/eval mode and restore its mode and buffers (BatchNorm running stats)."""
    was = model.training
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    model.train(train)
    try:
        yield
    finally:
        model.train(was)
        with torch.no_grad():
            for k, v in model.named_buffers():
                if k in buffers:
                    v.copy_(buffers[k])


def capture_features(model: nn.Module, x: torch.Tensor, layers: Layers = None, train_mode: bool = False,
                     grad: bool = False) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Outputs of ``layers`` (see :func:`resolve_layers`) and the model's output on ``x``, via
    forward hooks. ``train_mode`` runs BatchNorm with batch statistics; the model's mode and buffers
    are restored afterwards, so capturing has no side effect."""
    modules = resolve_layers(model, layers)
    captured: dict[int, torch.Tensor] = {}
    handles = []
    for i, m in enumerate(modules):
        def hook(_m, _inp, out, i=i):
            if i not in captured:  # a module called twice keeps its first output
                t = _first_tensor(out)
                if t is not None:
                    captured[i] = t
        handles.append(m.register_forward_hook(hook))
    try:
        with _preserved(model, train_mode), (contextlib.nullcontext() if grad else torch.no_grad()):
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    missing = [i for i in range(len(modules)) if i not in captured]
    if missing:
        raise InvalidConfigError(f"layer(s) {missing} of {type(model).__name__} produced no tensor in forward()")
    return [captured[i] for i in range(len(modules))], _first_tensor(out)


def match_layers(n_ref: int, n_cand: int, match: str = "index") -> list[tuple[int, int]]:
    """Pairs (reference layer, candidate layer). ``"index"``: same count required, i-th with i-th;
    ``"depth"``: each reference layer with the candidate layer at the nearest relative depth."""
    if match == "index":
        if n_ref != n_cand:
            raise InvalidConfigError(
                f"reference has {n_ref} layers to compare but the candidate has {n_cand}; "
                "give as many layers on both sides or use match='depth'")
        return [(i, i) for i in range(n_ref)]
    if match == "depth":
        if n_ref < 1 or n_cand < 1:
            raise InvalidConfigError("both models need at least one layer to compare")
        pos = lambda i, n: (i + 1) / n  # noqa: E731 - relative depth of the i-th of n layers
        return [(i, min(range(n_cand), key=lambda j: (abs(pos(j, n_cand) - pos(i, n_ref)), j)))
                for i in range(n_ref)]
    raise InvalidConfigError(f"unknown layer matching {match!r}; choose 'index' or 'depth'")


# --- the score -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RMIResult:
    """``score`` = Σ similarity over matched stages; ``per_stage`` the terms; ``loss`` = RMI-NAS's
    ``S - score`` (plus the cross-entropy term when fitted); ``fit_loss`` the mixed loss after fitting."""

    score: float
    per_stage: tuple[float, ...]
    estimator: str
    fit_steps: int = 0
    fit_loss: float | None = None

    @property
    def loss(self) -> float:
        return len(self.per_stage) - self.score


@dataclass(frozen=True)
class FitSettings:
    """RMI-NAS's one-batch fit of a candidate (``steps`` SGD steps on ``β (S - ΣCKA) + (1-β) CE``)."""

    steps: int = 150
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    beta: float = 0.8


class ReferenceRepresentation:
    """A reference model's centred Grams on one batch, computed once; scores candidates against it.

    ``layers``: names or modules of ``model`` (default ``model.stage_ends()``); ``labels`` are needed
    only for fitted scoring. The reference runs in eval mode (``train_mode=False``, trained
    BatchNorm statistics) unless told otherwise.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None, layers: Layers = None,
                 estimator: str = "linear", rbf_threshold: float = 1.0, train_mode: bool = False):
        _check_estimator(estimator)
        if x.shape[0] < 2:
            raise InvalidConfigError("representation similarity needs a batch of at least 2 inputs")
        self.x, self.labels = x, labels
        self.estimator, self.rbf_threshold = estimator, rbf_threshold
        feats, _ = capture_features(model, x, layers, train_mode=train_mode)
        self.grams = [_gram(f.detach(), estimator, rbf_threshold) for f in feats]
        self.shapes = [tuple(f.shape[1:]) for f in feats]

    def __len__(self) -> int:
        return len(self.grams)

    def _similarities(self, feats: list[torch.Tensor], pairs) -> list[torch.Tensor]:
        return [cka_from_centered(self.grams[i], _gram(feats[j], self.estimator, self.rbf_threshold))
                for i, j in pairs]

    def score(self, candidate: nn.Module, layers: Layers = None, match: str = "index", train_mode: bool = True,
              fit: FitSettings | None = None, seed: int | None = None) -> RMIResult:
        """RMI of ``candidate`` (Σ CKA over matched layers). ``train_mode`` (default) uses batch
        statistics in BatchNorm, right for freshly initialised candidates. With ``fit``, the
        candidate is first trained on the batch as RMI-NAS does (this changes its weights)."""
        modules = resolve_layers(candidate, layers)
        fit_loss = None
        steps = 0
        if fit is not None and fit.steps > 0:
            fit_loss = self.fit(candidate, modules, match, fit, seed)
            steps = fit.steps
        feats, _ = capture_features(candidate, self.x, modules, train_mode=train_mode)
        pairs = match_layers(len(self), len(feats), match)
        with torch.no_grad():
            sims = tuple(float(s) for s in self._similarities(feats, pairs))
        return RMIResult(float(sum(sims)), sims, self.estimator, steps, fit_loss)

    def fit(self, candidate: nn.Module, modules: list[nn.Module], match: str, fit: FitSettings,
            seed: int | None = None) -> float:
        """Train ``candidate`` on the single batch (RMI-NAS); returns the last mixed loss."""
        if self.labels is None:
            raise InvalidConfigError("fitted RMI needs the batch's labels (ReferenceRepresentation(labels=...))")
        if seed is None:
            return self._fit(candidate, modules, match, fit)
        with cpu_seeded(seed):  # seeded without touching the caller's RNG
            return self._fit(candidate, modules, match, fit)

    def _fit(self, candidate: nn.Module, modules: list[nn.Module], match: str, fit: FitSettings) -> float:
        opt = torch.optim.SGD(candidate.parameters(), lr=fit.lr, momentum=fit.momentum,
                              weight_decay=fit.weight_decay)
        candidate.train()
        loss_value = float("nan")
        for _ in range(fit.steps):
            opt.zero_grad(set_to_none=True)
            feats, logits = _forward_with_hooks(candidate, self.x, modules)
            pairs = match_layers(len(self), len(feats), match)
            sims = self._similarities(feats, pairs)
            cka_loss = len(pairs) - sum(sims)
            ce = nn.functional.cross_entropy(logits, self.labels)
            loss = fit.beta * cka_loss + (1 - fit.beta) * ce.to(torch.float64)
            if not torch.isfinite(loss):
                return float("inf")
            loss.backward()
            opt.step()
            loss_value = float(loss.detach())
        return loss_value


def _forward_with_hooks(model: nn.Module, x: torch.Tensor, modules: list[nn.Module]):
    captured: dict[int, torch.Tensor] = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, i=i: captured.setdefault(i, _first_tensor(out)))
               for i, m in enumerate(modules)]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return [captured[i] for i in range(len(modules))], _first_tensor(out)


def rmi_score(reference: nn.Module, candidate: nn.Module, x: torch.Tensor, reference_layers: Layers = None,
              candidate_layers: Layers = None, estimator: str = "linear", match: str = "index",
              labels: torch.Tensor | None = None, fit: FitSettings | None = None) -> RMIResult:
    """RMI (Σ CKA over matched stages) between ``reference`` and ``candidate`` on the batch ``x``.

    For many candidates against one reference, build a :class:`ReferenceRepresentation` once."""
    ref = ReferenceRepresentation(reference, x, labels, reference_layers, estimator)
    return ref.score(candidate, candidate_layers, match=match, fit=fit)


def select_batch(reference: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 32
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """RMI-NAS's batch: the ``batch_size`` images of the pool the reference classifies with the
    lowest cross-entropy (in its original order)."""
    if not 2 <= batch_size <= len(x):
        raise InvalidConfigError(f"batch_size {batch_size} must be in 2..{len(x)} (the pool size)")
    with _preserved(reference, False), torch.no_grad():
        losses = nn.functional.cross_entropy(reference(x), y, reduction="none")
    idx = torch.sort(torch.topk(-losses, batch_size).indices).values
    return x[idx], y[idx]


@dataclass
class SimilarityScorer:
    """``arch -> RMI`` for a search space: builds the candidate at a fixed seeded initialisation
    (the global torch RNG is left untouched) and scores it against ``reference``.

    ``rank_by``: ``"rmi"`` (default) returns Σ CKA; ``"rminas_loss"`` returns minus RMI-NAS's mixed
    loss after the one-batch fit (what RMI-NAS ranks by; needs ``fit``), higher is better.
    Deterministic: the same architecture always gets the same score."""

    reference: ReferenceRepresentation
    space: object
    num_classes: int = 10
    in_channels: int = 3
    init_seed: int = 0
    match: str = "index"
    fit: FitSettings | None = None
    layers: Callable[[nn.Module], Layers] | None = None
    rank_by: str = "rmi"
    calls: int = field(default=0, init=False)

    def __post_init__(self):
        if self.rank_by not in RANK_BY:
            raise InvalidConfigError(f"rank_by must be one of {list(RANK_BY)}, got {self.rank_by!r}")
        if self.rank_by == "rminas_loss" and (self.fit is None or self.fit.steps <= 0):
            raise InvalidConfigError("rank_by='rminas_loss' needs the one-batch fit (fit=FitSettings(steps>0))")

    def result(self, arch) -> RMIResult:
        with cpu_seeded(self.init_seed):
            model = self.space.build(arch, num_classes=self.num_classes, in_channels=self.in_channels)
            self.calls += 1
            layers = self.layers(model) if self.layers is not None else None
            return self.reference.score(model, layers, match=self.match, fit=self.fit, seed=self.init_seed)

    def __call__(self, arch) -> float:
        res = self.result(arch)
        return res.score if self.rank_by == "rmi" else -res.fit_loss


__all__ = ["ESTIMATORS", "RMIResult", "FitSettings", "ReferenceRepresentation", "SimilarityScorer",
           "capture_features", "center_gram", "cka", "cka_from_centered", "gram_linear", "gram_rbf",
           "linear_cka", "match_layers", "resolve_layers", "rmi_score", "select_batch"]
