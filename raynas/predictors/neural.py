"""Torch and tree predictors with the scikit-learn contract, and Multi-Predict's few-shot transfer.

* :class:`MLPPredictor` — a small torch MLP (AdamW, L1 or MSE loss, optional log target,
  standardised inputs, a seeded ensemble of members averaged);
* :class:`TreePredictor` — gradient-boosted trees (scikit-learn ``HistGradientBoostingRegressor``);
* :class:`MultiPredictTransfer` — Akhauri & Abdelfattah's latency predictor: architecture encoding
  concatenated with a learned per-device embedding (dim 8) into an MLP, pre-trained on every source
  device, then transferred to a target from ``n`` samples by initialising the target's embedding
  from the source device whose latencies rank the ``n`` samples best, freezing the encoder and
  fine-tuning the embedding (and the output layer) for ``finetune_epochs``.

Every model is deterministic given ``seed`` (its own ``torch.Generator``; the global generator is
forked, not advanced) and picklable.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from raynas.errors import InvalidConfigError
from raynas.predictors.encodings import moments
from raynas.predictors.models import _check_xy

LOSSES = ("l1", "mse")


def _mlp(n_in: int, hidden: Sequence[int], n_out: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        n_in = h
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def _loss(name: str):
    if name not in LOSSES:
        raise InvalidConfigError(f"loss must be one of {LOSSES}, got {name!r}")
    return nn.functional.l1_loss if name == "l1" else nn.functional.mse_loss


def _train(params, forward, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float,
           batch_size: int, loss: str, gen: torch.Generator) -> None:
    """Mini-batch AdamW on ``forward(X[idx]) ~ y[idx]``."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    lossf = _loss(loss)
    n = len(X)
    bs = max(1, min(batch_size, n))
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            opt.zero_grad()
            lossf(forward(X[idx]), y[idx]).backward()
            opt.step()


class MLPPredictor(BaseEstimator, RegressorMixin):
    """A torch MLP regressor with the scikit-learn ``fit``/``predict`` contract.

    Args:
        hidden: widths of the hidden layers.
        epochs, lr, weight_decay, batch_size: AdamW training (Multi-Predict uses lr 4e-4, L1 loss).
        loss: ``"l1"`` or ``"mse"`` on the standardised (log) target.
        log_target: regress ``log y`` (latencies: positive, multiplicative errors).
        n_members: ensemble size (members differ by seed; predictions averaged).
        seed: seeds initialisation and batch order.
    """

    def __init__(self, hidden: Sequence[int] = (128, 128), epochs: int = 200, lr: float = 1e-3,
                 weight_decay: float = 1e-4, batch_size: int = 32, loss: str = "l1", log_target: bool = False,
                 n_members: int = 1, seed: int = 0):
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.loss = loss
        self.log_target = log_target
        self.n_members = n_members
        self.seed = seed

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        _loss(self.loss)
        if self.log_target and (y <= 0).any():
            raise InvalidConfigError("log_target=True needs positive targets")
        t = np.log(y) if self.log_target else y
        self.x_mean_, self.x_scale_ = moments(X)
        self.y_mean_, self.y_scale_ = map(float, moments(t))
        Xt = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float32)
        yt = torch.as_tensor((t - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        self.members_ = []
        with torch.random.fork_rng(devices=[]):
            for m in range(self.n_members):
                torch.manual_seed(self.seed * 1000 + m)
                gen = torch.Generator().manual_seed(self.seed * 1000 + m)
                net = _mlp(X.shape[1], self.hidden)
                _train(net.parameters(), lambda x, net=net: net(x).squeeze(-1), Xt, yt, self.epochs, self.lr,
                       self.weight_decay, self.batch_size, self.loss, gen)
                self.members_.append(net.eval())
        return self

    def predict(self, X):
        check_is_fitted(self, "members_")
        X = _check_xy(X)
        Xt = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float32)
        with torch.no_grad():
            t = torch.stack([m(Xt).squeeze(-1) for m in self.members_]).mean(0).numpy().astype(np.float64)
        t = t * self.y_scale_ + self.y_mean_
        return np.exp(t) if self.log_target else t


class TreePredictor(BaseEstimator, RegressorMixin):
    """Gradient-boosted regression trees (``HistGradientBoostingRegressor``), optional log target.

    Small-sample defaults (``min_samples_leaf=2``, 500 trees, learning rate 0.03, unlimited depth
    within 31 leaves) were chosen on NB201 accuracy from 50-100 architectures with the ZCP encoding
    (``benchmarks/predictor_transfer.py --parts accuracy``): shallower trees (depth 4) ranked worse."""

    def __init__(self, max_iter: int = 500, learning_rate: float = 0.03, max_depth: int | None = None,
                 min_samples_leaf: int = 2, l2_regularization: float = 0.0, log_target: bool = False, seed: int = 0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.log_target = log_target
        self.seed = seed

    def fit(self, X, y):
        from sklearn.ensemble import HistGradientBoostingRegressor

        X, y = _check_xy(X, y)
        if self.log_target and (y <= 0).any():
            raise InvalidConfigError("log_target=True needs positive targets")
        t = np.log(y) if self.log_target else y
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            early_stopping=False, random_state=self.seed).fit(X, t)
        return self

    def predict(self, X):
        check_is_fitted(self, "model_")
        t = self.model_.predict(_check_xy(X))
        return np.exp(t) if self.log_target else t


class ForestPredictor(BaseEstimator, RegressorMixin):
    """A random forest whose trees are an ensemble: :meth:`predict_members` gives one prediction per
    tree, so a search reads its uncertainty from one fit (as SMAC does) instead of refitting
    bootstrap copies. Fits in tens of milliseconds on the few hundred results of a search, where
    gradient boosting takes seconds per fit.

    ``y`` may have several columns (``[n, k]``): every tree then predicts all ``k`` at once (a split
    is chosen for the sum of the columns' squared errors, so put them on one scale first), at the
    cost of one.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(40, 3)); y = X[:, 0]
        >>> f = ForestPredictor(n_estimators=20).fit(X, y)
        >>> f.predict_members(X[:2]).shape
        (20, 2)
        >>> ForestPredictor(n_estimators=20).fit(X, X[:, :2]).predict_members(X[:2]).shape
        (20, 2, 2)
    """

    def __init__(self, n_estimators: int = 30, min_samples_leaf: int = 2, max_features: float = 0.5, seed: int = 0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.seed = seed

    def fit(self, X, y):
        """Bag ``n_estimators`` regression trees exactly as scikit-learn's ``RandomForestRegressor(
        random_state=seed)`` does (the same per-tree seeds, bootstrap counts as sample weights, the
        same trees), built directly: without the ensemble's per-tree validation a fit on a search's
        few hundred rows takes ~1/3 of the time and a prediction ~1/5."""
        import sklearn

        if not isinstance(self.n_estimators, (int, np.integer)) or self.n_estimators < 1:
            raise InvalidConfigError(f"n_estimators must be an int >= 1, got {self.n_estimators!r}")
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 2 and Y.shape[1] > 1:
            X = _check_xy(X)
            if len(Y) != len(X) or len(Y) < 2:
                raise InvalidConfigError(f"X has {len(X)} rows, y has {len(Y)}; need the same number, at least 2")
            self.n_outputs_ = Y.shape[1]
        else:
            X, Y = _check_xy(X, Y)
            self.n_outputs_ = 1
        X32 = np.ascontiguousarray(X, dtype=np.float32)  # what scikit-learn's trees compute on
        y2 = np.ascontiguousarray(Y.reshape(len(Y), -1))
        seeds = np.random.RandomState(self.seed).randint(np.iinfo(np.int32).max, size=self.n_estimators)
        # One generator reseeded per tree (building a RandomState costs ~50 reseeds); the first tree
        # checks the settings, the others skip scikit-learn's repeated parameter validation.
        rs = np.random.RandomState(0)
        self.trees_ = [self._tree(X32, y2, int(seeds[0]), rs)]
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            self.trees_ += [self._tree(X32, y2, int(s), rs) for s in seeds[1:]]
        self.n_features_in_ = X.shape[1]
        return self

    def _tree(self, X32: np.ndarray, y2: np.ndarray, seed: int, rs: np.random.RandomState):
        """One tree as ``RandomForestRegressor`` grows it with per-tree seed ``seed``: its bootstrap
        counts as sample weights, the splitter seeded as ``RandomState(seed)``."""
        from sklearn.tree import DecisionTreeRegressor

        n = len(y2)
        rs.seed(seed)
        weight = np.bincount(rs.randint(0, n, n), minlength=n).astype(np.float64)
        rs.seed(seed)
        tree = DecisionTreeRegressor(min_samples_leaf=self.min_samples_leaf, max_features=self.max_features,
                                     random_state=rs).fit(X32, y2, sample_weight=weight, check_input=False)
        tree.random_state = seed  # the seed it was grown with, not the shared generator
        return tree

    def predict(self, X) -> np.ndarray:
        return self.predict_members(X).mean(axis=0)

    def predict_members(self, X) -> np.ndarray:
        """``[n_estimators, n]`` (``[n_estimators, n, k]`` when fitted on ``k`` columns): every tree's prediction."""
        check_is_fitted(self, "trees_")
        X = _check_xy(X)
        if X.shape[1] != self.n_features_in_:
            raise InvalidConfigError(f"X has {X.shape[1]} features, the forest was fitted on {self.n_features_in_}")
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        shape = (len(X),) if getattr(self, "n_outputs_", 1) == 1 else (len(X), self.n_outputs_)
        return np.stack([t.predict(X32, check_input=False).reshape(shape) for t in self.trees_])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class _DeviceMLP(nn.Module):
    """``MLP([encoding, embedding[device]])`` -> standardised log latency."""

    def __init__(self, n_in: int, n_devices: int, dim: int, hidden: Sequence[int]):
        super().__init__()
        self.embedding = nn.Embedding(n_devices, dim)
        self.body = _mlp(n_in + dim, hidden)

    def forward(self, x: torch.Tensor, dev: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x, self.embedding(dev)], dim=1)).squeeze(-1)


class MultiPredictTransfer(BaseEstimator, RegressorMixin):
    """Multi-Predict's few-shot latency predictor (Akhauri & Abdelfattah, AutoML-Conf 2023).

    ``X`` = ``[source latencies (n_source columns) | architecture encoding]`` (the same layout as
    :class:`raynas.predictors.models.RaynasTransfer`; the encoding is e.g. the ZCP vector, analytic
    features, one-hot, or their concatenation).

    :meth:`pretrain` (on the rows of *all* architectures; no target latency) trains one MLP on
    (encoding, source-device id) -> log latency of that device, standardised per device, with a
    learned ``embedding_dim`` embedding per source device; ``pretrain_archs`` architectures per
    source are used (the paper: ~900). :meth:`fit` (n target samples) initialises the target's
    embedding from the source whose latencies rank the n samples best (Spearman), freezes the
    encoder layers and fine-tunes the embedding and the output layer for ``finetune_epochs``,
    with the target's standardisation estimated from the n samples. Deviations from the paper: a
    per-device standardised log target (the paper normalises latencies) and an output-layer
    fine-tune besides the embedding.
    """

    def __init__(self, n_source: int | None = None, embedding_dim: int = 8, hidden: Sequence[int] = (128, 128),
                 pretrain_epochs: int = 60, pretrain_archs: int = 900, finetune_epochs: int = 50,
                 lr: float = 4e-4, finetune_lr: float = 3e-3, batch_size: int = 128, loss: str = "l1",
                 seed: int = 0):
        self.n_source = n_source
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_archs = pretrain_archs
        self.finetune_epochs = finetune_epochs
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.batch_size = batch_size
        self.loss = loss
        self.seed = seed

    def _split(self, X):
        k = int(self.n_source) if self.n_source is not None else None
        if k is None or not 0 < k < X.shape[1]:
            raise InvalidConfigError(f"n_source={self.n_source} must leave encoding columns in X with {X.shape[1]}")
        return X[:, :k], X[:, k:]

    def _enc(self, E):
        return torch.as_tensor((E - self.e_mean_) / self.e_scale_, dtype=torch.float32)

    def pretrain(self, X) -> MultiPredictTransfer:
        """Train the shared MLP and one embedding per source device on every source column."""
        X = _check_xy(X)
        S, E = self._split(X)
        L = np.log(np.maximum(S, 1e-9))
        self.src_mean_, self.src_scale_ = moments(L)
        Z = (L - self.src_mean_) / self.src_scale_
        self.e_mean_, self.e_scale_ = moments(E)
        rng = np.random.default_rng(self.seed)
        k = S.shape[1]
        rows = [rng.choice(len(X), min(self.pretrain_archs, len(X)), replace=False) for _ in range(k)]
        xi = np.concatenate(rows)
        di = np.concatenate([np.full(len(r), j) for j, r in enumerate(rows)])
        zi = np.concatenate([Z[r, j] for j, r in enumerate(rows)])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = _DeviceMLP(E.shape[1], k + 1, self.embedding_dim, self.hidden)
            Et, dt = self._enc(E), torch.as_tensor(di)
            gen = torch.Generator().manual_seed(self.seed)
            xt = torch.as_tensor(xi)
            _train(net.parameters(), lambda idx: net(Et[xt[idx]], dt[idx]), torch.arange(len(xi)),
                   torch.as_tensor(zi, dtype=torch.float32), self.pretrain_epochs, self.lr, 1e-4,
                   self.batch_size, self.loss, gen)
        self.net_ = net.eval()
        self.n_sources_ = k
        return self

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        if not hasattr(self, "net_"):
            self.pretrain(X)
        S, E = self._split(X)
        z = np.log(np.maximum(y, 1e-9))
        self.t_mean_, self.t_scale_ = map(float, moments(z))
        rho = np.array([spearmanr(S[:, j], y)[0] if np.ptp(S[:, j]) > 0 else -np.inf for j in range(S.shape[1])])
        self.init_source_ = int(np.argmax(np.nan_to_num(rho, nan=-np.inf)))
        net = copy.deepcopy(self.net_)
        tgt = self.n_sources_
        with torch.no_grad():
            net.embedding.weight[tgt] = net.embedding.weight[self.init_source_]
        for p in net.parameters():
            p.requires_grad_(False)
        net.embedding.weight.requires_grad_(True)
        last = net.body[-1]
        for p in last.parameters():
            p.requires_grad_(True)
        params = [net.embedding.weight, *last.parameters()]
        Et = self._enc(E)
        zt = torch.as_tensor((z - self.t_mean_) / self.t_scale_, dtype=torch.float32)
        dev = torch.full((len(y),), tgt, dtype=torch.long)
        with torch.random.fork_rng(devices=[]):
            gen = torch.Generator().manual_seed(self.seed + 1)
            net.train()
            _train(params, lambda idx: net(Et[idx], dev[idx]), torch.arange(len(y)), zt, self.finetune_epochs,
                   self.finetune_lr, 0.0, self.batch_size, self.loss, gen)
        self.target_net_ = net.eval()
        return self

    def predict(self, X):
        check_is_fitted(self, "target_net_")
        _, E = self._split(_check_xy(X))
        dev = torch.full((len(E),), self.n_sources_, dtype=torch.long)
        with torch.no_grad():
            z = self.target_net_(self._enc(E), dev).numpy().astype(np.float64)
        return np.exp(z * self.t_scale_ + self.t_mean_)
