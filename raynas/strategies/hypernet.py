"""MODNAS as an ask/tell strategy: one trained hypernetwork proposes a Pareto front per device.

``ask()`` walks a grid of (preference vector, target device) pairs and proposes the hypernetwork's
argmax architecture for each, skipping (device, architecture) pairs already asked. ``tell()``
records the measured objectives; every ``refit_every`` latency measurements on a device the
MetaPredictor is fine-tuned on all observations (with replay of source-device data, if given), the
hypernetwork is refined for a few MGD steps on the target devices, and the grid is proposed again.
When the grid has nothing new, the strategy samples from the hypernetwork's distribution at random
preferences (never repeating a pair) so a longer experiment keeps exploring.

Target devices need only a :class:`~raynas.hypernet.HardwareProfile` (their latencies of the
reference architectures): unseen devices are zero-shot, the hypernetwork is not retrained for them.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Sequence

import numpy as np
import torch

from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.hypernet.model import MetaHypernetwork, preference_grid, sample_preferences
from raynas.hypernet.predictors import AccuracySurrogate, HardwareProfile, MetaPredictor, refit_meta_predictor
from raynas.hypernet.sampling import st_gumbel_softmax
from raynas.hypernet.train import HypernetTrainer, TrainSettings, architecture_pool


class HypernetStrategy:
    """Ask/tell over a trained :class:`MetaHypernetwork`.

    Parameters
    ----------
    space: the search space (its ``encode_onehot`` matches the hypernetwork's decisions x ops).
    hypernet, accuracy, latency: trained models (see :func:`build_surrogate_strategy`).
    targets: device name -> :class:`HardwareProfile` of each device to profile.
    n_preferences: size of the evaluation grid per device (24 in MODNAS).
    latency_objective: index of the latency (ms) among the objectives given to ``tell``.
    refit_every: latency measurements on a device between refits (0 disables refinement).
    refine_steps: MGD steps on the target devices after each refit.
    """

    def __init__(self, space, hypernet: MetaHypernetwork, targets: dict[str, HardwareProfile],
                 accuracy: AccuracySurrogate | None = None, latency: MetaPredictor | None = None,
                 n_preferences: int = 24, latency_objective: int = 1, refit_every: int = 8,
                 refine_steps: int = 100, refine_settings: TrainSettings | None = None,
                 replay: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, seed: int = 0):
        if not targets:
            raise InvalidConfigError("HypernetStrategy needs at least one target device")
        self.space, self.hypernet = space, hypernet
        self.accuracy, self.latency = accuracy, latency
        self.targets = dict(targets)
        self.n_preferences = n_preferences
        self.latency_objective = latency_objective
        self.refit_every = refit_every
        self.refine_steps = refine_steps
        self.refine_settings = refine_settings or TrainSettings(steps=refine_steps, lr=0.02, tau_max=0.3,
                                                                tau_min=0.1, seed=seed + 1)
        self.replay = replay
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.asked: set[tuple[str, tuple[int, ...]]] = set()
        self.queue: deque = deque()
        self.pending: dict[tuple[int, ...], deque] = {}
        self.observations: list[dict] = []
        self._since_refit: dict[str, int] = {}
        self.round = 0
        self.last_context: dict | None = None
        self._fill_grid()

    # --- proposals ---------------------------------------------------------------------------
    def grid(self) -> list[dict]:
        """The current argmax proposal for every (preference, device) pair of the grid."""
        prefs = torch.tensor(preference_grid(self.n_preferences), dtype=torch.float32)
        out = []
        per_device = {}
        for name, prof in self.targets.items():
            per_device[name] = self.hypernet.argmax_archs(prefs, torch.tensor(prof.embedding))
        for i, p in enumerate(prefs.tolist()):
            for name in self.targets:
                out.append({"target_device": name, "preference": [float(v) for v in p], "arch": per_device[name][i]})
        return out

    def _fill_grid(self) -> None:
        self.queue = deque(g for g in self.grid() if (g["target_device"], g["arch"]) not in self.asked)
        self.round += 1

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
        if device is None:
            q = self.pending.get(arch)
            if not q:
                raise UnknownNameError(f"tell: architecture {arch} was not asked; pass device=")
            device = q.popleft()
        else:
            q = self.pending.get(arch)
            if q and device in q:
                q.remove(device)
        if device not in self.targets:
            raise UnknownNameError(f"tell: unknown device {device!r}; targets are {list(self.targets)}")
        self.observations.append({"arch": arch, "device": device, "objectives": [float(v) for v in objectives]})
        lat = float(objectives[self.latency_objective]) if len(objectives) > self.latency_objective else float("nan")
        if np.isfinite(lat) and self.refit_every and self.latency is not None:
            self._since_refit[device] = self._since_refit.get(device, 0) + 1
            if self._since_refit[device] >= self.refit_every:
                self.refine()

    def refine(self) -> None:
        """Fine-tune the MetaPredictor on every finite latency observation, refine the hypernetwork
        on the target devices, and propose the grid again."""
        obs = [o for o in self.observations
               if len(o["objectives"]) > self.latency_objective and np.isfinite(o["objectives"][self.latency_objective])]
        if not obs or self.latency is None:
            return
        x = np.stack([self.space.encode_onehot(o["arch"]) for o in obs])
        hw = np.stack([self.targets[o["device"]].embedding for o in obs])
        y = np.array([self.targets[o["device"]].to_units(o["objectives"][self.latency_objective]) for o in obs])
        for p in self.latency.parameters():
            p.requires_grad_(True)
        replay = None
        if self.replay is not None:
            rng = np.random.default_rng(self.seed + len(obs))
            rows = rng.choice(len(self.replay[2]), size=min(len(self.replay[2]), 20 * len(obs)), replace=False)
            replay = tuple(r[rows] for r in self.replay)
        refit_meta_predictor(self.latency, x, hw, y, replay=replay, seed=self.seed + len(obs))
        self._since_refit = {}
        if self.accuracy is not None and self.refine_steps > 0:
            trainer = HypernetTrainer(self.hypernet, self.accuracy, self.latency, self.targets,
                                      architecture_pool(self.space, seed=self.seed), self.refine_settings)
            trainer.train(self.refine_steps)
        self._fill_grid()

    # --- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "hypernet_config": self.hypernet.config(), "hypernet": copy.deepcopy(self.hypernet.state_dict()),
            "latency_config": self.latency.config() if self.latency is not None else None,
            "latency": copy.deepcopy(self.latency.state_dict()) if self.latency is not None else None,
            "accuracy_config": self.accuracy.config() if self.accuracy is not None else None,
            "accuracy": copy.deepcopy(self.accuracy.state_dict()) if self.accuracy is not None else None,
            "targets": {n: p.reference_ms.tolist() for n, p in self.targets.items()},
            "asked": sorted(self.asked), "queue": list(self.queue),
            "pending": {a: list(q) for a, q in self.pending.items()},
            "observations": copy.deepcopy(self.observations), "since_refit": dict(self._since_refit),
            "round": self.round, "generator": self.generator.get_state(),
            "settings": {"n_preferences": self.n_preferences, "latency_objective": self.latency_objective,
                         "refit_every": self.refit_every, "refine_steps": self.refine_steps, "seed": self.seed},
        }

    def load_state_dict(self, state: dict) -> None:
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
        self._since_refit = dict(state["since_refit"])
        self.round = state["round"]
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
                            replay=bundle.replay, seed=seed, **strategy_kwargs)
