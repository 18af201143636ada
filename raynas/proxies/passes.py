"""Shared passes over one model and one batch, run once each whatever the number of proxies.

The reference implementation (foresight) deep-copies the network and runs a forward/backward pass
per proxy. Here one forward pass of the batch in train mode serves every data-dependent proxy:

* ``autograd.grad(loss, weights + activations)`` gives ∂L/∂W (grad_norm, snip) and ∂L/∂z (fisher);
  with ``create_graph=True`` when grasp is asked for, so H·g is one more backward of
  ``Σ stopgrad(g)·g`` on the same graph;
* ``autograd.grad(Σ output, x)`` on the same forward gives jacob_cov's input Jacobian;
* forward hooks on ``nn.ReLU`` modules build NASWOT's kernel during that same forward.

Synflow's data-free pass needs BatchNorm switched off, |W| and float64: it runs the model's own
modules on new float64 tensors put in the modules' parameter slots for the pass and taken out after,
so the caller's parameters are never touched (a deep copy only when a layer's weight is computed,
e.g. by a parametrization). After the shared pass the model is restored exactly: BatchNorm running
statistics, train/eval mode and ``requires_grad`` flags; no hook is left behind and no ``.grad`` is
written (gradients come from ``torch.autograd.grad``).
"""

from __future__ import annotations

import contextlib
import copy
import time
import types
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from raynas.errors import InvalidConfigError

#: Layers whose weights are scored (the paper: Conv2d and Linear only).
SCORED_LAYERS = (nn.Conv2d, nn.Linear)


def scored_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every Conv2d/Linear layer, in module order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, SCORED_LAYERS)]


@contextlib.contextmanager
def record_macs(model: nn.Module) -> Iterator[dict[str, float]]:
    """Within the block, every forward of ``model`` adds the multiply-accumulates of each
    Conv2d/Linear layer, per sample, to the yielded ``{layer name: count}``; hooks removed after."""
    macs: dict[str, float] = {}
    names = {m: n for n, m in model.named_modules()}

    def hook(m, _inp, out):
        per_sample = out.numel() // out.shape[0]
        k = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1] if isinstance(m, nn.Conv2d) \
            else m.in_features
        macs[names[m]] = macs.get(names[m], 0.0) + float(per_sample * k)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, SCORED_LAYERS)]
    try:
        yield macs
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """The block runs with every module in eval mode; each module's own mode comes back after."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for m, mode in modes:
            m.training = mode


class PassFailed(RuntimeError):
    """A shared pass raised; every proxy reading it fails with this message."""


class ProxyContext:
    """Lazily runs the passes proxies ask for and keeps their results for the other proxies.

    Attributes read by proxy functions: ``model``, ``layers`` (scored ``(name, module)`` pairs),
    ``inputs``, ``targets``, ``input_shape``; and the pass results through the methods below."""

    def __init__(self, model: nn.Module, inputs: torch.Tensor | None, targets: torch.Tensor | None,
                 loss_fn: Callable, passes: Iterable[str], input_shape: tuple[int, ...] | None = None):
        self.model = model
        self.inputs = inputs
        self.targets = targets
        self.loss_fn = loss_fn
        self.passes = frozenset(passes)
        self.layers = scored_layers(model)
        if input_shape is None:
            if inputs is None:
                raise InvalidConfigError("proxies need a batch or an input_shape")
            input_shape = tuple(inputs.shape[1:])
        self.input_shape = tuple(input_shape)
        self.timings: dict[str, float] = {}
        self._train: dict | None = None
        self._train_error: str | None = None
        self._synflow: dict | None = None
        self._synflow_error: str | None = None
        self._macs: dict[str, float] | None = None

    # --- results proxies read --------------------------------------------------------------
    def weight_grads(self) -> dict[str, torch.Tensor | None]:
        """∂L/∂W per scored layer (None for a layer the loss does not reach)."""
        return self._train_result("weight_grads")

    def activations(self) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
        """``(z, ∂L/∂z)`` of every scored layer's output."""
        return self._train_result("activations")

    def hessian_grads(self) -> dict[str, torch.Tensor | None]:
        """H·g per scored layer, g = ∂L/∂W treated as a constant."""
        return self._train_result("hessian_grads")

    def input_grads(self) -> torch.Tensor:
        """∂(Σ output)/∂x, shaped like the batch."""
        return self._train_result("input_grads")

    def relu_kernel(self) -> torch.Tensor:
        """NASWOT's kernel Σ_ReLU [c cᵀ + (1−c)(1−c)ᵀ] over the batch (float64, [N, N])."""
        return self._train_result("relu_kernel")

    def synflow(self) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
        """``(|W|, ∂R/∂W)`` per scored layer from the data-free float64 pass."""
        if self._synflow is None and self._synflow_error is None:
            self._run("synflow", self._synflow_pass)
        if self._synflow_error is not None:
            raise PassFailed(self._synflow_error)
        return self._synflow

    def macs(self) -> dict[str, float]:
        """Multiply-accumulates per Conv2d/Linear layer for one input (raw counts): recorded during
        synflow's pass when a proxy reads it (one forward serves both), else by a forward of their own."""
        if self._macs is None and "synflow" in self.passes:
            try:
                self.synflow()
            except PassFailed:
                pass
        if self._macs is None:
            model = self.model
            dtype = next((p.dtype for p in model.parameters()), torch.float32)
            with _eval_mode(model), torch.no_grad(), record_macs(model) as macs:
                model(torch.zeros(1, *self.input_shape, dtype=dtype))
            self._macs = macs
        return self._macs

    # --- the shared train-mode pass ------------------------------------------------------------
    def _train_result(self, key: str):
        if self._train is None and self._train_error is None:
            self._run("train", self._train_pass)
        if self._train_error is not None:
            raise PassFailed(self._train_error)
        return self._train[key]

    def _run(self, label: str, fn: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        try:
            fn()
        except InvalidConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - one failing pass must not sink the other proxies
            message = f"{label} pass failed: {type(exc).__name__}: {exc}".strip()
            if label == "synflow":
                self._synflow_error = message
            else:
                self._train_error = message
        finally:
            self.timings[label] = time.perf_counter() - t0

    def _train_pass(self) -> None:
        model, want = self.model, self.passes
        if self.inputs is None:
            raise InvalidConfigError(f"proxies reading the {sorted(want & {'loss', 'activation', 'hessian', 'input', 'relu'})} "
                                     "pass(es) need a batch of inputs")
        grad_passes = want & {"loss", "activation", "hessian"}
        if grad_passes and self.targets is None:
            raise InvalidConfigError("proxies reading the loss gradient need labels: pass the batch as (inputs, labels)")
        result: dict = {"weight_grads": {}, "activations": {}, "hessian_grads": {}, "input_grads": None,
                        "relu_kernel": None}
        weights = [m.weight for _, m in self.layers]
        flags = [p.requires_grad for p in weights]
        buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
        was_training = model.training
        hooks: list = []
        outputs: dict[str, torch.Tensor] = {}
        kernel: list[torch.Tensor] = []
        if "activation" in want:
            for name, m in self.layers:
                hooks.append(m.register_forward_hook(_keep_output(outputs, name)))
        if "relu" in want:
            relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
            if not relus:
                raise InvalidConfigError("naswot reads nn.ReLU modules and the model has none")
            for m in relus:
                hooks.append(m.register_forward_hook(_accumulate_codes(kernel)))
        try:
            for p in weights:
                p.requires_grad_(True)
            model.train()
            x = self.inputs.detach().clone().requires_grad_("input" in want)
            try:
                out = model(x)
            except Exception as exc:
                raise InvalidConfigError(
                    f"the model's forward pass failed on a batch of shape {list(self.inputs.shape)}: "
                    f"{type(exc).__name__}: {exc}") from None
            if isinstance(out, (tuple, list)):  # (features, logits) models: score the logits
                out = out[-1]
            if kernel:
                result["relu_kernel"] = kernel[0]
            if grad_passes:
                loss = self.loss_fn(out, self.targets)
                acts = [outputs[n] for n, _ in self.layers] if "activation" in want else []
                needed = weights + acts
                grads = torch.autograd.grad(loss, needed, retain_graph=True, create_graph="hessian" in want,
                                            allow_unused=True)
                wg = grads[: len(weights)]
                result["weight_grads"] = {n: (None if g is None else g.detach())
                                          for (n, _), g in zip(self.layers, wg)}
                for (n, _), z, gz in zip(self.layers, acts, grads[len(weights):]):
                    result["activations"][n] = (z.detach(), None if gz is None else gz.detach())
                if "hessian" in want:
                    used = [(i, g) for i, g in enumerate(wg) if g is not None and g.requires_grad]
                    hg: list = [None] * len(weights)
                    if used:
                        z = sum((g.detach() * g).sum() for _, g in used)
                        hvs = torch.autograd.grad(z, [weights[i] for i, _ in used], retain_graph="input" in want,
                                                  allow_unused=True)
                        for (i, _), h in zip(used, hvs):
                            hg[i] = None if h is None else h.detach()
                    result["hessian_grads"] = {n: h for (n, _), h in zip(self.layers, hg)}
            if "input" in want:
                (gx,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out))
                result["input_grads"] = gx.detach()
        finally:
            for h in hooks:
                h.remove()
            for p, f in zip(weights, flags):
                p.requires_grad_(f)
            with torch.no_grad():
                for k, v in model.named_buffers():
                    if k in buffers:
                        v.copy_(buffers[k])
            model.train(was_training)
        self._train = result

    # --- synflow -------------------------------------------------------------------------------
    def _synflow_pass(self) -> None:
        model = self.model
        modules = list(model.modules())
        owned = {id(p) for m in modules for p in m._parameters.values() if p is not None}
        if any(id(getattr(m, "weight", None)) not in owned for _, m in self.layers):
            self._synflow = _synflow_on_copy(model, self.input_shape)  # computed weights (parametrizations)
            return
        # |W| in float64 as new tensors put in the modules' own slots for the pass and taken out after
        # (a weight two modules share is one new tensor); the model's parameters stay as they were
        ids = [id(m.weight) for _, m in self.layers]
        with _swapped_double(modules) as double, _eval_mode(model), _batchnorm_off(modules), \
                record_macs(model) as macs:
            weights = [double[i].requires_grad_(True) for i in ids]
            out = model(torch.ones(1, *self.input_shape, dtype=torch.float64))
        self._macs = macs
        self._synflow = _synflow_result(self.layers, weights, out)


@contextlib.contextmanager
def _swapped_double(modules: list[nn.Module]) -> Iterator[dict[int, torch.Tensor]]:
    """Within the block, every parameter is its absolute value and every floating buffer its value,
    as new float64 tensors (yielded by the original's ``id``); the originals are back after."""
    double: dict[int, torch.Tensor] = {}
    slots = []
    for m in modules:
        for store, absolute in ((m._parameters, True), (m._buffers, False)):
            for name, t in store.items():
                if t is None or not t.is_floating_point():
                    continue
                if id(t) not in double:
                    double[id(t)] = (t.detach().abs() if absolute else t.detach()).double()
                slots.append((store, name, t))
    try:
        for store, name, t in slots:
            store[name] = double[id(t)]
        yield double
    finally:
        for store, name, t in slots:
            store[name] = t


@contextlib.contextmanager
def _batchnorm_off(modules: list[nn.Module]) -> Iterator[None]:
    """BatchNorm layers pass their input through within the block (as synflow's reference does)."""
    patched = [(m, m.__dict__.get("forward")) for m in modules if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        for m, _ in patched:
            m.forward = types.MethodType(_identity, m)
        yield
    finally:
        for m, own in patched:
            if own is None:
                del m.forward
            else:
                m.forward = own


def _synflow_result(layers, weights, out) -> dict:
    if isinstance(out, (tuple, list)):
        out = out[-1]
    unique = list({id(w): w for w in weights}.values())  # a weight shared by two layers is one input
    grads = dict(zip(map(id, unique), torch.autograd.grad(out.sum(), unique, allow_unused=True)))
    return {n: (w.detach(), None if grads[id(w)] is None else grads[id(w)].detach())
            for (n, _), w in zip(layers, weights)}


def _synflow_on_copy(model: nn.Module, input_shape) -> dict:
    """The synflow pass on a deep copy (for models whose weights are computed, not stored)."""
    net = copy.deepcopy(model)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.forward = types.MethodType(_identity, m)
    net.eval()
    net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    layers = scored_layers(net)
    weights = [m.weight for _, m in layers]
    for p in weights:
        p.requires_grad_(True)
    return _synflow_result(layers, weights, net(torch.ones(1, *input_shape, dtype=torch.float64)))


def _identity(self, x):
    return x


def _keep_output(store: dict, name: str):
    def hook(module, inputs, output):
        # A copy decouples z from an in-place op that may follow (ReLU(inplace=True)), so ∂L/∂z
        # is the gradient at the layer's own output.
        store[name] = output.clone()
        return store[name]

    return hook


def _accumulate_codes(kernel: list):
    def hook(module, inputs, output):
        with torch.no_grad():
            x = inputs[0] if isinstance(inputs, tuple) else inputs
            c = (x.detach().reshape(x.shape[0], -1) > 0).to(torch.float64)
            k = c @ c.T + (1.0 - c) @ (1.0 - c).T
            if kernel:
                kernel[0] += k
            else:
                kernel.append(k)

    return hook
