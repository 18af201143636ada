"""MODNAS as an ask/tell strategy: one trained hypernetwork proposes a Pareto front per device.

``ask()`` walks a grid of (preference vector, target device) pairs and proposes the hypernetwork's
argmax architecture for each, skipping (device, architecture) pairs already asked. ``tell()``
records the measured objectives; every ``refit_every`` observations the surrogates are refined on
what the trials measured -- the MetaPredictor on the latencies (in each device's reference units),
the accuracy surrogate on the accuracies (accuracy does not depend on the device, so every trial
teaches every device) -- each mixed with replay of its original training data, the hypernetwork
takes a few MGD steps on the target devices, and the grid is proposed again. When the grid has
nothing new, the strategy samples from the hypernetwork's distribution at random preferences
(never repeating a pair) so a longer experiment keeps exploring.

Target devices need only a :class:`~raynas.hypernet.HardwareProfile` (their latencies of the
reference architectures, measured with :class:`raynas.hardware.LocalDevice` or read from a table):
unseen devices are zero-shot, the hypernetwork is not retrained for them (:meth:`add_target` adds
one to a running strategy).
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque
from collections.abc import Sequence

import numpy as np
import torch

from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.hypernet.model import MetaHypernetwork, preference_grid, sample_preferences
from raynas.predictors.modnas import (AccuracySurrogate, HardwareProfile, MetaPredictor, refit_accuracy_surrogate,
                                        refit_meta_predictor)
from raynas.hypernet.sampling import st_gumbel_softmax
from raynas.hypernet.train import HypernetTrainer, TrainSettings, architecture_pool

#: How a told accuracy objective (minimised) becomes the surrogate's error fraction.
ACCURACY_KINDS = {
    "neg_accuracy_percent": lambda v: 1.0 + v / 100.0,   # metric "accuracy" in %, mode "max"
    "neg_accuracy_fraction": lambda v: 1.0 + v,          # metric "accuracy" in [0, 1], mode "max"
    "error_percent": lambda v: v / 100.0,                # metric "error" in %, mode "min"
    "error_fraction": lambda v: v,                       # metric "error" in [0, 1], mode "min"
}


class HypernetStrategy:
    """Ask/tell over a trained :class:`MetaHypernetwork`.

    Parameters
    ----------
    space: the search space (its ``encode_onehot`` matches the hypernetwork's decisions x ops).
    hypernet, accuracy, latency: trained models (see :func:`build_surrogate_strategy`).
    targets: device name -> :class:`HardwareProfile` of each device to profile.
    n_preferences: size of the evaluation grid per device (24 in MODNAS).
    latency_objective: index of the latency (ms) among the objectives given to ``tell``.
    accuracy_objective: index of the accuracy objective (``None``: never refit the accuracy surrogate),
        read as ``accuracy_kind`` (a key of :data:`ACCURACY_KINDS`).
    refit_every: observations between refinements (0 disables refinement).
    refine_steps: MGD steps of the hypernetwork on the target devices after each refit.
    latency_replay: ``(one-hot, embedding, reference units)`` samples of the source devices;
    accuracy_replay: ``(one-hot, error fraction)`` of the accuracy surrogate's training set.
    """

    def __init__(self, space, hypernet: MetaHypernetwork, targets: dict[str, HardwareProfile],
                 accuracy: AccuracySurrogate | None = None, latency: MetaPredictor | None = None,
                 n_preferences: int = 24, latency_objective: int = 1, accuracy_objective: int | None = 0,
                 accuracy_kind: str = "neg_accuracy_percent", refit_every: int = 8, refine_steps: int = 100,
                 refine_settings: TrainSettings | None = None,
                 latency_replay: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 accuracy_replay: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0):
        if not targets:
            raise InvalidConfigError("HypernetStrategy needs at least one target device")
        if accuracy_kind not in ACCURACY_KINDS:
            raise InvalidConfigError(f"unknown accuracy_kind {accuracy_kind!r}; choose one of {sorted(ACCURACY_KINDS)}")
        if not isinstance(n_preferences, int) or n_preferences < 1:
            raise InvalidConfigError(f"n_preferences must be a positive integer, got {n_preferences!r}")
        if refit_every < 0 or refine_steps < 0:
            raise InvalidConfigError(f"refit_every and refine_steps must be >= 0, got {refit_every}, {refine_steps}")
        self.space, self.hypernet = space, hypernet
        self.accuracy, self.latency = accuracy, latency
        self.targets: dict[str, HardwareProfile] = {}
        for name, prof in targets.items():
            self._check_profile(name, prof)
            self.targets[name] = prof
        self.n_preferences = n_preferences
        self.latency_objective = latency_objective
        self.accuracy_objective = accuracy_objective
        self.accuracy_kind = accuracy_kind
        self.refit_every = refit_every
        self.refine_steps = refine_steps
        self.refine_settings = refine_settings or TrainSettings(steps=refine_steps, lr=0.02, tau_max=0.3,
                                                                tau_min=0.1, seed=seed + 1)
        self.latency_replay = latency_replay
        self.accuracy_replay = accuracy_replay
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.asked: set[tuple[str, tuple[int, ...]]] = set()
        self.queue: deque = deque()
        self.pending: dict[tuple[int, ...], deque] = {}
        self.observations: list[dict] = []
        self._since_refit = 0
        self.round = 0
        self.refits = 0
        self.last_context: dict | None = None
        self._fill_grid()

    def _check_profile(self, name: str, prof: HardwareProfile) -> None:
        if not isinstance(prof, HardwareProfile):
            raise InvalidConfigError(f"target {name!r} must be a HardwareProfile, got {type(prof).__name__}")
        if prof.reference_ms.size != self.hypernet.hw_dim:
            raise InvalidConfigError(f"target {name!r} has {prof.reference_ms.size} reference latencies, the "
                                     f"hypernetwork expects {self.hypernet.hw_dim}")

    # --- proposals ---------------------------------------------------------------------------
    def front_archs(self, device: str | HardwareProfile, n_preferences: int | None = None) -> list[tuple[int, ...]]:
        """The hypernetwork's argmax architecture for each of ``n_preferences`` grid preferences on a
        target device (by name) or on any :class:`HardwareProfile` (zero-shot)."""
        prof = device if isinstance(device, HardwareProfile) else self._target(device)
        prefs = torch.tensor(preference_grid(n_preferences or self.n_preferences), dtype=torch.float32)
        return self.hypernet.argmax_archs(prefs, torch.tensor(prof.embedding))

    def _target(self, name: str) -> HardwareProfile:
        if name not in self.targets:
            raise UnknownNameError(f"unknown device {name!r}; targets are {list(self.targets)}")
        return self.targets[name]

    def grid(self) -> list[dict]:
        """The current argmax proposal for every (preference, device) pair of the grid."""
        prefs = preference_grid(self.n_preferences)
        per_device = {name: self.front_archs(name) for name in self.targets}
        return [{"target_device": name, "preference": [float(v) for v in p], "arch": per_device[name][i]}
                for i, p in enumerate(prefs) for name in self.targets]

    def _fill_grid(self) -> None:
        """Queue the grid's (device, architecture) pairs not asked yet, each once (neighbouring
        preferences often share an architecture)."""
        seen = set(self.asked)
        self.queue = deque()
        for g in self.grid():
            key = (g["target_device"], g["arch"])
            if key not in seen:
                seen.add(key)
                self.queue.append(g)
        self.round += 1

    def add_target(self, name: str, profile: HardwareProfile) -> None:
        """Profile one more device from now on (zero-shot: only its reference latencies are needed)."""
        self._check_profile(name, profile)
        self.targets[name] = profile
        self._fill_grid()

    def _sample_new(self, tries: int = 200) -> dict:
        names = list(self.targets)
        for _ in range(tries):
            name = names[int(torch.randint(len(names), (1,), generator=self.generator))]
            pref = sample_preferences(1, self.generator)
            with torch.no_grad():
                logits = self.hypernet(pref, torch.tensor(self.targets[name].embedding))
                arch = tuple(int(a) for a in st_gumbel_softmax(logits, 1.0, self.generator).argmax(-1)[0])
            if (name, arch) not in self.asked:
                return {"target_device": name, "preference": pref[0].tolist(), "arch": arch}
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, (1,), generator=self.generator)))
        name = names[int(rng.integers(len(names)))]
        return {"target_device": name, "preference": None, "arch": tuple(self.space.sample(rng))}

    def ask_with_context(self) -> tuple[tuple[int, ...], dict]:
        """The next architecture and its context ``{"target_device", "preference"}``."""
        while self.queue and (self.queue[0]["target_device"], self.queue[0]["arch"]) in self.asked:
            self.queue.popleft()
        item = self.queue.popleft() if self.queue else self._sample_new()
        self.asked.add((item["target_device"], item["arch"]))
        self.pending.setdefault(item["arch"], deque()).append(item["target_device"])
        ctx = {"target_device": item["target_device"], "preference": item["preference"]}
        self.last_context = ctx
        return item["arch"], ctx

    def ask(self) -> tuple[int, ...]:
        return self.ask_with_context()[0]

    # --- feedback ----------------------------------------------------------------------------
    def tell(self, arch: Sequence[int], objectives: Sequence[float], device: str | None = None) -> None:
        """Record ``objectives`` (all minimised; ``objectives[latency_objective]`` in ms) of ``arch``
        on ``device`` (default: the device it was asked for)."""
        arch = tuple(int(a) for a in arch)
        q = self.pending.get(arch)
        if device is None:
            if not q:
                raise UnknownNameError(f"tell: architecture {arch} was not asked; pass device=")
            device = q.popleft()
        elif q and device in q:
            q.remove(device)
        if q is not None and not q:
            del self.pending[arch]
        self._target(device)
        try:
            values = [float(v) for v in objectives]
        except (TypeError, ValueError):
            raise InvalidConfigError(f"objectives must be numbers, got {objectives!r}") from None
        self.observations.append({"arch": arch, "device": device, "objectives": values})
        if any(np.isfinite(values)):
            self._since_refit += 1
        if self.refit_every and self._since_refit >= self.refit_every:
            self.refine()

    def _value(self, obs: dict, index: int | None) -> float:
        v = obs["objectives"]
        return float(v[index]) if index is not None and len(v) > index else float("nan")

    def refine(self) -> None:
        """Refit the surrogates on every finite observation, refine the hypernetwork on the target
        devices, and propose the grid again."""
        self._since_refit = 0
        seed = self.seed + 7919 * (self.refits + 1)
        refitted = False
        lat_obs = [o for o in self.observations if np.isfinite(self._value(o, self.latency_objective))]
        if lat_obs and self.latency is not None:
            x = np.stack([self.space.encode_onehot(o["arch"]) for o in lat_obs])
            hw = np.stack([self.targets[o["device"]].embedding for o in lat_obs])
            y = np.array([self.targets[o["device"]].to_units(self._value(o, self.latency_objective)) for o in lat_obs])
            for p in self.latency.parameters():
                p.requires_grad_(True)
            replay = None
            if self.latency_replay is not None:
                rng = np.random.default_rng(seed)
                n = len(self.latency_replay[2])
                rows = rng.choice(n, size=min(n, 20 * len(lat_obs)), replace=False)
                replay = tuple(r[rows] for r in self.latency_replay)
            refit_meta_predictor(self.latency, x, hw, y, replay=replay, seed=seed)
            refitted = True
        convert = ACCURACY_KINDS[self.accuracy_kind]
        errors: dict[tuple[int, ...], list[float]] = {}
        for o in self.observations:
            v = self._value(o, self.accuracy_objective)
            if np.isfinite(v):
                errors.setdefault(o["arch"], []).append(convert(v))
        if errors and self.accuracy is not None:
            x = np.stack([self.space.encode_onehot(a) for a in errors])
            y = np.array([np.mean(v) for v in errors.values()])
            refit_accuracy_surrogate(self.accuracy, x, y, replay=self.accuracy_replay, seed=seed)
            refitted = True
        if refitted:
            self.refits += 1
        if self.accuracy is not None and self.latency is not None and self.refine_steps > 0 and refitted:
            settings = dataclasses.replace(self.refine_settings, steps=self.refine_steps, seed=seed)
            trainer = HypernetTrainer(self.hypernet, self.accuracy, self.latency, self.targets,
                                      architecture_pool(self.space, seed=self.seed), settings)
            trainer.train(self.refine_steps)
        self._fill_grid()

    # --- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "strategy": type(self).__name__,
            "hypernet_config": self.hypernet.config(), "hypernet": copy.deepcopy(self.hypernet.state_dict()),
            "latency_config": self.latency.config() if self.latency is not None else None,
            "latency": copy.deepcopy(self.latency.state_dict()) if self.latency is not None else None,
            "accuracy_config": self.accuracy.config() if self.accuracy is not None else None,
            "accuracy": copy.deepcopy(self.accuracy.state_dict()) if self.accuracy is not None else None,
            "targets": {n: p.reference_ms.tolist() for n, p in self.targets.items()},
            "asked": sorted(self.asked), "queue": list(self.queue),
            "pending": {a: list(q) for a, q in self.pending.items()},
            "observations": copy.deepcopy(self.observations), "since_refit": self._since_refit,
            "round": self.round, "refits": self.refits, "generator": self.generator.get_state(),
            "settings": {"n_preferences": self.n_preferences, "latency_objective": self.latency_objective,
                         "accuracy_objective": self.accuracy_objective, "accuracy_kind": self.accuracy_kind,
                         "refit_every": self.refit_every, "refine_steps": self.refine_steps, "seed": self.seed},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("strategy", type(self).__name__) != type(self).__name__:
            raise InvalidConfigError(f"state of a {state.get('strategy')!r} cannot be loaded into a {type(self).__name__}")
        if self.hypernet.config() != state["hypernet_config"]:
            self.hypernet = MetaHypernetwork(**state["hypernet_config"])
        self.hypernet.load_state_dict(state["hypernet"])
        if state["latency"] is not None:
            if self.latency is None or self.latency.config() != state["latency_config"]:
                self.latency = MetaPredictor(**state["latency_config"])
            self.latency.load_state_dict(state["latency"])
        if state["accuracy"] is not None:
            if self.accuracy is None or self.accuracy.config() != state["accuracy_config"]:
                self.accuracy = AccuracySurrogate(**state["accuracy_config"])
            self.accuracy.load_state_dict(state["accuracy"])
        self.targets = {n: HardwareProfile(n, r) for n, r in state["targets"].items()}
        self.asked = {(d, tuple(a)) for d, a in state["asked"]}
        self.queue = deque(state["queue"])
        self.pending = {tuple(a): deque(q) for a, q in state["pending"].items()}
        self.observations = copy.deepcopy(state["observations"])
        self._since_refit = state["since_refit"]
        self.round, self.refits = state["round"], state["refits"]
        self.generator.set_state(state["generator"])
        for k, v in state["settings"].items():
            setattr(self, k, v)


def build_surrogate_strategy(space, train_devices: Sequence[str], targets: dict[str, HardwareProfile] | Sequence[str],
                             data_dir=None, n_accuracy_archs: int = 1000, archs_per_device: int = 2000,
                             predictor_epochs: int = 20, settings: TrainSettings | None = None,
                             log_every: int = 0, seed: int = 0, **strategy_kwargs) -> HypernetStrategy:
    """Train everything in surrogate mode from the published tables and return the strategy.

    The MetaPredictor learns ``train_devices``' latency columns; the accuracy surrogate learns
    ``n_accuracy_archs`` NB201 CIFAR-10 validation accuracies; the hypernetwork is trained by MGD
    over ``train_devices``. ``targets`` are names of table devices or ready profiles (zero-shot).
    """
    from raynas.hypernet.pipeline import train_surrogate_mode

    bundle = train_surrogate_mode(space, train_devices, data_dir=data_dir, n_accuracy_archs=n_accuracy_archs,
                                  archs_per_device=archs_per_device, predictor_epochs=predictor_epochs,
                                  settings=settings, log_every=log_every, seed=seed)
    if not isinstance(targets, dict):
        targets = {n: bundle.data.profile(n) for n in targets}
    return HypernetStrategy(space, bundle.hypernet, targets, accuracy=bundle.accuracy, latency=bundle.latency,
                            latency_replay=bundle.latency_replay, accuracy_replay=bundle.accuracy_replay,
                            seed=seed, **strategy_kwargs)
