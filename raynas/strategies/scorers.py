"""Cheap scores computed on the real networks a space builds, cached per architecture.

A *scorer* is any callable ``Arch -> float`` (or an object with ``score_many(archs) -> ndarray``).
Strategies take scorers as arguments, so zero-cost proxies from :mod:`raynas.proxies` (synflow,
...) plug in the same way as the built-in ones here:

* ``params``, ``flops``, ``path_params``: the data-free cost proxies of :mod:`raynas.proxies.cost`
  (millions of parameters, of multiply-accumulates, of parameters on an input-output path).

All are measured on the built ``nn.Module``, never read from a benchmark table. :class:`CachedScorer`
memoises any scorer per architecture and can persist to a JSON file.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from raynas.errors import InvalidConfigError, UnknownNameError

Arch = tuple[int, ...]
BUILTIN = ("params", "flops", "path_params")
#: Computing this many networks' scores at once (a warm-up) shows progress; fewer (a move's) stay quiet.
PROGRESS_FROM = 10


def _key(arch) -> tuple:
    """A configuration as a tuple of Python numbers (a cache key)."""
    return tuple(x.item() if isinstance(x, np.generic) else x for x in arch)


def key_text(arch) -> str:
    """A configuration as text for JSON state (``repr`` of floats round-trips exactly)."""
    return ",".join(map(str, _key(arch)))


def network_key(space, arch) -> tuple:
    """What a network-level cache is keyed by: the configuration restricted to what its network
    depends on (:meth:`raynas.spaces.ParamSpace.network_key`; the whole configuration for NAS spaces)."""
    key = getattr(space, "network_key", None)
    a = arch if type(arch) is tuple else _key(arch)  # numpy and Python numbers hash and compare alike
    return key(a) if key is not None else a


def parse_key(text: str) -> tuple:
    """Inverse of :func:`key_text`: integers stay integers, the rest are floats."""
    out = []
    for c in text.split(","):
        try:
            out.append(int(c))
        except ValueError:
            out.append(float(c))
    return tuple(out)


#: seconds of scoring or timing networks a search may spend on the driver (:func:`within_budget`) before
#: handing the rest to the background (:class:`ProxyScores`, :class:`DeviceScorer`): the first trial
#: starts within about this long
INLINE_S = 2.0


def within_budget(todo: Sequence, seconds: float, work: Callable[[list], object]) -> int:
    """Do ``work(chunk)`` here on consecutive chunks of ``todo`` while all of it looks to fit in
    ``seconds``, and return how many items were done (the rest is left for the background).

    The first chunk is one item (always done; it also pays for first-call costs such as imports),
    the next two, then each doubles but holds no more than fits the time left. It stops as soon as
    the pace of the items after the first says the rest would not fit in the time left, or the time
    is spent: a budget, not only a forecast from the first items, which is too low when later
    networks are larger."""
    start, done, size, first = time.perf_counter(), 0, 1, 0.0
    while done < len(todo):
        if done:
            elapsed = time.perf_counter() - start
            left = seconds - elapsed
            if left < 0:
                break
            if done > 1:
                pace = (elapsed - first) / (done - 1)
                if pace * (len(todo) - done) > left:
                    break
                size = max(1, min(2 * size, int(left / pace))) if pace > 0 else 2 * size
            else:
                size = 2
        chunk = list(todo[done:done + size])
        work(chunk)
        if not done:
            first = time.perf_counter() - start
        done += len(chunk)
    return done


def background_progress(progress, n: int, desc: str):
    """The progress of work handed to the background: ``progress`` with ``n`` more networks while it
    is open, else a new one described by ``desc``."""
    from raynas.logs import Progress

    if progress is None or progress._closed:
        return Progress(n, desc, unit="networks")
    progress.extend(n)
    return progress


def network_measures(space, arch: Arch, names: Sequence[str] = BUILTIN, input_shape=(3, 32, 32),
                     num_classes: int = 10) -> dict[str, float]:
    """Data-free measures of one architecture's network, built with seed 0 (see the module docstring)."""
    from raynas.proxies import compute_proxies
    from raynas.proxies.compute import build_network

    for n in names:
        if n not in BUILTIN:
            raise UnknownNameError(f"unknown built-in scorer {n!r}; known: {', '.join(BUILTIN)}")
    model = build_network(space, tuple(arch), seed=0, num_classes=num_classes, input_shape=input_shape)
    return compute_proxies(model, None, list(names), input_shape=tuple(input_shape))


class CachedScorer:
    """Memoise ``fn(arch) -> float`` per architecture; ``path`` persists the cache as JSON.

    ``key(arch) -> tuple`` (default: the architecture itself) says which architectures share a value,
    e.g. :func:`network_key` for a score of the network alone. ``evaluations`` counts real
    (uncached) calls: the proxy/hardware-cost budget a search spent."""

    def __init__(self, fn: Callable[[Arch], float], name: str = "score", path: str | os.PathLike | None = None,
                 key: Callable[[Arch], tuple] | None = None):
        self.fn = fn
        self.name = name
        self.path = Path(path) if path is not None else None
        self.key = key
        self.cache: dict[Arch, float] = {}
        self.evaluations = 0
        if self.path is not None and self.path.is_file():
            with open(self.path) as f:
                self.cache = {parse_key(k): float(v) for k, v in json.load(f).items()}

    @classmethod
    def from_batch(cls, fn: Callable[[list[Arch]], Sequence[float]], name: str = "score",
                   path: str | os.PathLike | None = None) -> CachedScorer:
        """Cache a batch scorer ``list[Arch] -> array`` (e.g. a wrapper of
        ``raynas.proxies.score_architectures``); uncached architectures are scored in one call."""
        scorer = cls(lambda a: float(np.asarray(fn([a]), dtype=float).reshape(-1)[0]), name, path)
        scorer.batch_fn = fn
        return scorer

    batch_fn: Callable[[list[Arch]], Sequence[float]] | None = None

    def __call__(self, arch: Sequence[int]) -> float:
        a = _key(arch)
        k = a if self.key is None else self.key(a)
        v = self.cache.get(k)
        if v is None:
            v = float(self.fn(a))
            self.cache[k] = v
            self.evaluations += 1
        return v

    def score_many(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        archs = [_key(a) for a in archs]
        if self.batch_fn is not None:
            todo: dict = {}  # key -> the first architecture asked with it
            for a in archs:
                k = a if self.key is None else self.key(a)
                if k not in self.cache:
                    todo.setdefault(k, a)
            if todo:
                for k, v in zip(todo, np.asarray(self.batch_fn(list(todo.values())), dtype=float).reshape(-1)):
                    self.cache[k] = float(v)
                self.evaluations += len(todo)
        return np.array([self(a) for a in archs], dtype=float)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({key_text(k): v for k, v in self.cache.items()}, f)
        os.replace(tmp, self.path)


def network_scorer(space, name: str = "params", cache_dir: str | os.PathLike | None = None,
                   **kwargs) -> CachedScorer:
    """A cached built-in scorer (``params``, ``flops`` or ``path_params``) over ``space``'s networks.

    With ``cache_dir``, values persist in ``<cache_dir>/<space>_<name>.json``."""
    if name not in BUILTIN:
        raise UnknownNameError(f"unknown built-in scorer {name!r}; known: {', '.join(BUILTIN)}")
    path = Path(cache_dir) / f"{space.name}_{name}.json" if cache_dir is not None else None
    return CachedScorer(lambda a: network_measures(space, a, (name,), **kwargs)[name], name, path)


class DeviceScorer(CachedScorer):
    """A cost scorer: the latency (ms) of each configuration's network on a :mod:`raynas.hardware`
    device -- timed here by a ``LocalDevice``, read from a published table by a ``TableDevice``,
    predicted by a ``PredictedDevice`` -- once per network (configurations that differ only in keys
    the network ignores, such as a learning rate, share it).

    A ``LocalDevice`` times a :class:`~raynas.spaces.ParamSpace`'s networks on the space's own input
    shape (its ``example_inputs``); a network the space cannot build, or the device cannot time,
    scores NaN (a warning says which, once). Timings taken while trials run on the same machine are
    as noisy as the trials' own.

    Example::

        ZeroCostSearch(metric=["accuracy", "latency_ms"], mode=["max", "min"], model_fn=build_model,
                       example_inputs=(1, 28, 28), cost={"latency_ms": LocalDevice()})

    With ``inline_s`` set (``searchers.ZeroCostSearch`` sets 2 s unless ``proxy_workers=0``), a
    device that times networks here is kept off the search's critical path as the zero-cost proxies
    are (:class:`ProxyScores`): :meth:`prefetch` times networks here while all of them look to fit
    in ``inline_s`` seconds (:func:`within_budget`) and the rest in a background thread (one network
    at a time, shown as progress; a daemon thread, so it never holds up the process's exit);
    :meth:`ready` says which are in, and a network needed at once is timed then if still queued,
    else waited for. ``None`` (the default): every network is timed when first needed.

    ``evaluations`` counts networks timed (or looked up), the cost budget a search spent.
    """

    def __init__(self, device, space, inline_s: float | None = None):
        super().__init__(self._latency, f"latency on {device.name}", key=functools.partial(network_key, space))
        self.device = device
        self.space = space
        self.inline_s = inline_s
        self._warned = False
        self._background_state()
        self._measured = self._quick = False

    def _background_state(self) -> None:
        import collections
        import threading

        self._todo: collections.deque = collections.deque()  # (arch, future) waiting for the thread
        self._futures: dict = {}  # network key -> its timing, queued or running
        self._worker = None  # a daemon thread while there is work: it never holds up the process's exit
        self._lock = threading.Lock()
        self._progress = None

    @property
    def timed(self) -> bool:
        """Whether the device times networks here (a ``LocalDevice``), rather than looking them up."""
        return getattr(self.device, "measure", None) is not None

    def prefetch(self, archs: Iterable[Sequence]) -> None:
        """Time the networks of ``archs`` not timed yet: here within ``inline_s`` seconds, the
        rest in the background thread."""
        todo = self._untimed(archs)
        if not todo:
            return
        if not self.timed or self.inline_s is None:
            self.score_many(todo)
            return
        if self.inline_s <= 0:
            self._measured = True
            self._submit(todo)
            return
        n = within_budget(todo, self.inline_s, lambda chunk: [self(a) for a in chunk])
        self._measured = True
        if n == len(todo):
            self._quick = True
        else:
            self._submit(todo[n:])

    def _untimed(self, archs) -> list:
        out: dict = {}
        for a in archs:
            a = _key(a)
            k = self.key(a)
            if k not in self.cache and k not in self._futures and k not in out:
                out[k] = a
        return list(out.values())

    def _submit(self, todo: list) -> None:
        import threading
        from concurrent.futures import Future

        self._progress = background_progress(self._progress, len(todo),
                                             f"timing {len(todo)} networks on {self.device.name} in the background")
        with self._lock:
            for a in todo:
                future = self._futures[self.key(a)] = Future()
                self._todo.append((a, future))
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="raynas-device", daemon=True)
                self._worker.start()

    def _drain(self) -> None:
        """The background thread: time the queued networks one at a time, then stop."""
        while True:
            with self._lock:
                if not self._todo:
                    self._worker = None
                    return
                arch, future = self._todo.popleft()
            if future.set_running_or_notify_cancel():  # else cancelled: needed at once, timed by the caller
                try:
                    future.set_result(self._latency(arch))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever collects it
                    future.set_exception(exc)

    @property
    def background(self) -> bool:
        """Whether networks needed later are timed in the background (measured too slow to time here)."""
        return self._measured and not self._quick

    def lookahead(self, archs: Iterable[Sequence], limit: int = 64) -> int:
        """Queue up to ``limit`` networks likely needed soon for background timing (only when
        timing runs in the background). Returns how many were queued."""
        if not self.background:
            return 0
        todo = self._untimed(archs)[:max(0, int(limit))]
        if todo:
            self._submit(todo)
        return len(todo)

    def ready(self, archs: Iterable[Sequence]) -> np.ndarray:
        """Which of ``archs`` are timed (collecting finished background timings; times nothing)."""
        self._collect()
        return np.array([self.key(_key(a)) in self.cache for a in archs], dtype=bool)

    def _collect(self, only=None) -> None:
        """Keep the finished timings; ``only``: a network needed now -- still queued, it is timed here
        instead, already running, it is waited for."""
        if only is not None and self._futures[only].cancel():
            del self._futures[only]
            self._progress.advance()
        for k in [k for k, f in self._futures.items() if f.done() or k == only]:
            self.cache[k] = float(self._futures.pop(k).result())
            self.evaluations += 1
            self._progress.advance()

    def __call__(self, arch: Sequence[int]) -> float:
        if self._futures:
            k = self.key(_key(arch))
            if k in self._futures:
                self._collect(only=k)
        return super().__call__(arch)

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in ("_todo", "_futures", "_worker", "_lock", "_progress"):  # background work does not travel
            del state[name]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._background_state()

    def _latency(self, arch: tuple) -> float:
        measure = getattr(self.device, "measure", None)
        shape = getattr(self.space, "input_shape", None)
        try:
            if measure is not None and shape is not None:  # a timed device on a space with its own inputs
                return float(measure(self.space.build(arch), input_shape=tuple(shape)).median_ms)
            return float(self.device.latency_ms(arch, self.space))
        except InvalidConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - one network the device cannot time is a NaN, as a failed proxy
            if not self._warned:
                from raynas.logs import get_logger

                get_logger("scorers").warning("%s could not time a network (%s: %s); such networks score NaN",
                                              self.device.name, type(exc).__name__, exc)
                self._warned = True
            return float("nan")


class ProxyScores:
    """Registered zero-cost proxies (:mod:`raynas.proxies`) of ``space``'s networks, cached per architecture.

    All ``names`` are computed together on one build of each network (one shared pass serves
    synflow and path_params; FLOPs and params read the model), so a proxy and a hardware cost cost
    one network between them. Names are checked at construction: an unknown one raises
    :class:`~raynas.errors.UnknownNameError` naming it and the known proxies.

    Args:
        space: the search space that builds the networks.
        names: registered proxy names (``synflow``, ``path_params``, ``flops``, ``snip``, ...).
        batch: what data proxies see: a :class:`~raynas.proxies.BatchSpec` (default: a
            Fashion-MNIST stand-in batch of 64 images shaped like ``input_shape``) or a batch itself
            (a tensor, or ``(inputs, labels)``); data-free proxies ignore it.
        num_classes, init_seed: how each network is built (torch's CPU generator seeded with ``init_seed``).
        input_shape: one input's shape, without the batch dimension (default: the space's own, e.g. a
            :class:`~raynas.spaces.ParamSpace`'s ``example_inputs``, else ``(3, 32, 32)``); a space
            whose ``example_inputs`` is a batch also gives the default ``batch``.
        cache_dir: keep values in a :class:`~raynas.proxies.ProxyTable` CSV there (shared across runs).
        mapper: ``mapper(chunks) -> list of DataFrames`` computing chunks of architectures elsewhere,
            waiting for them; default: on this process.
        executor: computes chunks in the background (``submit(chunk) -> handle``,
            ``done(handles) -> [(handle, DataFrame)]`` without waiting, ``wait(handles)`` waiting);
            :meth:`prefetch` hands it work and :meth:`ready` collects what arrived
            (``searchers.zero_cost`` passes one running Ray tasks).
        chunk_size: architectures per chunk handed to ``mapper`` or ``executor``.
        inline_s: :meth:`prefetch` computes networks here while all of them look to fit in this
            many seconds (:func:`within_budget`) and hands the rest to the background (0: everything
            in the background); when they were all done in time, networks are also computed here
            whenever they are needed at once.

    ``evaluations`` counts networks actually computed (not found in a cache): the proxy budget.
    """

    def __init__(self, space, names: Sequence[str], *, batch=None, num_classes: int = 10, init_seed: int = 0,
                 input_shape: Sequence[int] | None = None, cache_dir: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, mapper: Callable | None = None, chunk_size: int = 25,
                 executor=None, inline_s: float = INLINE_S):
        from raynas.proxies import BatchSpec, resolve_names

        self.space = space
        self.names = resolve_names(list(names))
        if input_shape is None:
            input_shape = getattr(space, "input_shape", None) or (3, 32, 32)
        if batch is None and hasattr(space, "example_batch"):
            batch = space.example_batch()
        self.data = None if batch is None or isinstance(batch, BatchSpec) else batch  # a batch given as data
        self.batch = batch if isinstance(batch, BatchSpec) else BatchSpec(image_size=int(input_shape[-1]),
                                                                            channels=int(input_shape[0]))
        if self.data is not None and cache_dir is not None:
            raise InvalidConfigError("proxy values computed on a batch you give cannot share a cache_dir "
                                     "(the cache is keyed by a BatchSpec); leave cache_dir out")
        self.executor = executor
        if isinstance(inline_s, bool) or not isinstance(inline_s, (int, float)) or not 0 <= inline_s < math.inf:
            raise InvalidConfigError(f"inline_s must be a number of seconds >= 0, got {inline_s!r}")
        self.inline_s = float(inline_s)
        self._quick = False  # networks measured quick enough to score here whenever needed now
        self._measured = self.inline_s <= 0  # whether prefetch has timed networks here (0: never)
        self._inflight: dict = {}  # handle -> chunk of architectures
        self._progress = None
        self.num_classes = num_classes
        self.init_seed = init_seed
        self.input_shape = tuple(int(v) for v in input_shape)
        self.cache_dir = cache_dir
        self.data_dir = data_dir
        self.mapper = mapper
        self.chunk_size = max(1, int(chunk_size))
        self.cache: dict[Arch, np.ndarray] = {}
        self.evaluations = 0
        self._table = None

    @property
    def data_free(self) -> bool:
        from raynas.proxies import get_proxy

        return all(get_proxy(n).data_free for n in self.names)

    def _compute(self, archs: list[Arch], here: bool = False, progress=None):
        """Values of ``archs`` (all uncached here) as a DataFrame with one row per architecture
        (``here``: on this process, whatever mapper or executor there is; ``progress``: an open
        :class:`~raynas.logs.Progress` advanced per network computed here, instead of one of their own)."""
        import pandas as pd

        from raynas.proxies import ProxyTable, score_architectures

        if self.cache_dir is not None:
            if self._table is None:
                self._table = ProxyTable(self.space, self.batch, self.num_classes, self.init_seed,
                                         cache_dir=self.cache_dir, data_dir=self.data_dir)
            missing = len(self._table.missing(archs, self.names))
            self.evaluations += missing
            return self._table.get(archs, self.names)
        chunks = [archs[i:i + self.chunk_size] for i in range(0, len(archs), self.chunk_size)]
        self.evaluations += len(archs)
        if self.mapper is not None and not here:
            return pd.concat(list(self.mapper(chunks)))
        # needed now: computed where the executor computes, waited for (here, when networks are quick)
        if self.executor is not None and not (here or self._quick):
            handles = [self.executor.submit(c) for c in chunks]
            done = dict(self.executor.wait(handles))
            return pd.concat([done[h] for h in handles])
        from contextlib import nullcontext

        from raynas.logs import Progress
        from raynas.parallel import torch_threads

        own = progress is None and len(archs) >= PROGRESS_FROM  # a bar of their own, closed when done
        shown = Progress(len(archs), f"zero-cost scores of {len(archs)} networks ({', '.join(self.names)})",
                         unit="networks") if own else nullcontext(progress)
        with shown as bar, torch_threads(1):
            tick = None if bar is None else (lambda i, n: bar.update()) if own else (lambda i, n: bar.advance())
            return score_architectures(self.space, archs, self.names, self.load_batch(), num_classes=self.num_classes,
                                       seed=self.init_seed, input_shape=self.input_shape, progress=tick)

    def load_batch(self):
        """The data proxies see (``None`` when every proxy is data-free)."""
        if self.data_free:
            return None
        return self.data if self.data is not None else self.batch.load(self.num_classes, self.data_dir)

    def failures(self, arch: Sequence) -> dict[str, str]:
        """Why proxies fail on ``arch``'s network: ``{name: reason}`` from one build here (empty when
        every proxy is finite). Scores themselves keep only NaN; this says what went wrong."""
        from raynas.proxies import proxy_report
        from raynas.proxies.compute import build_network

        try:
            model = build_network(self.space, tuple(arch), seed=self.init_seed, num_classes=self.num_classes,
                                  input_shape=self.input_shape)
            report = proxy_report(model, self.load_batch(), self.names, seed=self.init_seed,
                                  input_shape=self.input_shape)
        except Exception as exc:  # noqa: BLE001 - the reason is what is asked for
            return {n: f"{type(exc).__name__}: {exc}" for n in self.names}
        return dict(report.failures)

    # --- background computation ---------------------------------------------------------------------
    def _nk(self, arch) -> tuple:
        return network_key(self.space, arch)

    def _uncached(self, archs) -> list:
        """One representative configuration per network not cached (nor in flight)."""
        flying = {self._nk(a) for chunk in self._inflight.values() for a in chunk}
        out: dict[tuple, tuple] = {}
        for a in archs:
            k = self._nk(a)
            if k not in self.cache and k not in flying and k not in out:
                out[k] = _key(a)
        return list(out.values())

    def prefetch(self, archs: Iterable[Sequence]) -> None:
        """Start computing the uncached ``archs`` in the background (with an executor; otherwise now)."""
        todo = self._uncached(archs)
        if not todo:
            return
        if self.executor is None or self.cache_dir is not None:
            self.values(todo)
            return
        self._progress = background_progress(self._progress, len(todo), f"zero-cost scores of {len(todo)} networks "
                                             f"({', '.join(self.names)})")
        todo = self._here_while_budget(todo)
        if todo:
            self._submit(todo)

    def _submit(self, todo: list) -> None:
        """Hand ``todo`` to the executor in chunks, kept in flight until collected."""
        i, size = 0, self.chunk_size if self.cache else min(self.chunk_size, 2)
        while i < len(todo):  # with nothing scored yet, small chunks first: the first scores arrive sooner
            chunk = todo[i:i + size]
            self._inflight[self.executor.submit(chunk)] = chunk
            i, size = i + size, min(self.chunk_size, 2 * size)

    @property
    def background(self) -> bool:
        """Whether networks needed later are computed in the background (an executor, and networks
        measured too slow to compute here on demand)."""
        return self.executor is not None and self.cache_dir is None and not self._quick and self._measured

    def lookahead(self, archs: Iterable[Sequence], limit: int = 64) -> int:
        """Hand up to ``limit`` networks likely needed soon to the background, ahead of demand, so a
        later :meth:`values` finds them computed. Only where an executor computes in the background
        and networks were measured too slow to compute here when needed (otherwise they cost less
        computed on demand, and nothing is done). Returns how many were handed over."""
        if not self.background:
            return 0
        todo = self._uncached(archs)[:max(0, int(limit))]
        if self._progress is not None and not self._progress._closed:  # an open bar counts what it is shown
            self._progress.extend(len(todo))
        self._submit(todo)
        return len(todo)

    def _here_while_budget(self, todo: list) -> list:
        """Score networks on this process while ``inline_s`` seconds last (:func:`within_budget`);
        when that was all of them, networks count as quick: scored here whenever needed at once (the
        background's start-up and transfers cost more than small networks do). Returns what is left
        for the background."""
        if self.inline_s <= 0:
            return todo
        def here(chunk):
            self._cache_rows(chunk, self._compute(chunk, here=True, progress=self._progress))

        done = within_budget(todo, self.inline_s, here)
        self._measured = True
        self._quick = done == len(todo)
        return todo[done:]

    def _cache_rows(self, archs: list, df) -> None:
        """Keep computed values: row ``i`` of ``df`` belongs to ``archs[i]``."""
        vals = df[self.names].apply(lambda c: c.astype(float)).to_numpy(dtype=float)
        for a, v in zip(archs, vals):
            self.cache[self._nk(a)] = v

    def _store(self, chunk: list, df) -> None:
        """Keep a chunk the background computed: cached, counted, shown as progress."""
        self._cache_rows(chunk, df)
        self.evaluations += len(chunk)
        if self._progress is not None:
            self._progress.advance(len(chunk))

    def collect(self, wait: bool = False) -> int:
        """Store what the background computation finished (all of it, waiting, with ``wait``)."""
        if not self._inflight:
            return 0
        handles = list(self._inflight)
        done = self.executor.wait(handles) if wait else self.executor.done(handles)
        for handle, df in done:
            self._store(self._inflight.pop(handle), df)
        return len(done)

    def ready(self, archs: Iterable[Sequence]) -> np.ndarray:
        """Which of ``archs`` are computed (collecting finished background work first; computes nothing)."""
        self.collect()
        return np.array([self._nk(a) in self.cache for a in archs], dtype=bool)

    @property
    def pending(self) -> int:
        """Networks being computed in the background."""
        return sum(len(c) for c in self._inflight.values())

    def values(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        """``[n, len(names)]`` values (NaN where a proxy failed), computing the uncached ones."""
        keys = [self._nk(a) for a in archs]
        cache = self.cache
        if all(k in cache for k in keys):  # the common case: one lookup per configuration
            return np.array([cache[k] for k in keys], dtype=float).reshape(len(keys), len(self.names))
        archs = [_key(a) for a in archs]
        if self._inflight and any(k not in self.cache for k in keys):
            flying = {self._nk(a) for chunk in self._inflight.values() for a in chunk}
            if any(k in flying for k in keys):
                self.collect(wait=True)  # needed now: wait for the background work rather than repeat it
        todo = self._uncached(archs)
        if todo:
            self._cache_rows(todo, self._compute(todo))
        return np.array([self.cache[k] for k in keys], dtype=float).reshape(len(keys), len(self.names))

    def scorer(self, name: str, transform: str = "none") -> ProxyColumn:
        """A scorer (``__call__``/``score_many``) of one of the names; ``transform="log"`` gives
        ``sign(v) log(1 + |v|)``, for proxies spanning many orders of magnitude (synflow)."""
        if name not in self.names:
            raise UnknownNameError(f"proxy {name!r} is not among this table's proxies {self.names}")
        return ProxyColumn(self, self.names.index(name), transform)

    def state_dict(self) -> dict:
        return {"names": list(self.names), "evaluations": self.evaluations,
                "cache": {key_text(a): [float(x) for x in v] for a, v in self.cache.items()}}

    def load_state_dict(self, state: dict) -> None:
        if list(state["names"]) != list(self.names):
            raise UnknownNameError(f"cached proxies {state['names']} differ from this table's {self.names}")
        self.evaluations = int(state["evaluations"])
        self.cache = {parse_key(k): np.asarray(v, dtype=float)
                      for k, v in state["cache"].items()}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_table"] = None  # reopened from its file on demand
        state["_inflight"], state["_progress"] = {}, None  # background work does not travel
        return state


TRANSFORMS = ("none", "log")


class ProxyColumn:
    """One proxy of a :class:`ProxyScores`, as a scorer; ``evaluations`` are the table's."""

    def __init__(self, table: ProxyScores, column: int, transform: str = "none"):
        if transform not in TRANSFORMS:
            raise UnknownNameError(f"unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}")
        self.table = table
        self.column = column
        self.transform = transform
        self.name = table.names[column]

    @property
    def evaluations(self) -> int:
        return self.table.evaluations

    def prefetch(self, archs) -> None:
        self.table.prefetch(archs)

    def lookahead(self, archs, limit: int = 64) -> int:
        return self.table.lookahead(archs, limit)

    @property
    def background(self) -> bool:
        return self.table.background

    def ready(self, archs) -> np.ndarray:
        return self.table.ready(archs)

    def score_many(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        return self.transformed(self.table.values(archs)[:, self.column])

    def transformed(self, v: np.ndarray) -> np.ndarray:
        """This column's transform applied to raw values ``v``."""
        return np.sign(v) * np.log1p(np.abs(v)) if self.transform == "log" else v

    def __call__(self, arch: Sequence[int]) -> float:
        return float(self.score_many([arch])[0])


def proxy_scorer(space, name: str, **kwargs) -> ProxyColumn:
    """A cached scorer of one registered proxy (see :class:`ProxyScores` for ``kwargs``)."""
    return ProxyScores(space, [name], **kwargs).scorer(name, "log" if name in LOG_PROXIES else "none")


#: Proxies whose values span tens of orders of magnitude across a space: scored on a log scale.
LOG_PROXIES = frozenset({"synflow"})


def score_columns(scorers: Sequence, archs: Sequence[Arch]) -> np.ndarray:
    """``[n, len(scorers)]`` scores; columns of one :class:`ProxyScores` are looked up together."""
    out = np.empty((len(archs), len(scorers)))
    tables: dict[int, np.ndarray] = {}
    for j, s in enumerate(scorers):
        if isinstance(s, ProxyColumn):
            if id(s.table) not in tables:
                tables[id(s.table)] = s.table.values(archs)
            out[:, j] = s.transformed(tables[id(s.table)][:, s.column])
        else:
            out[:, j] = score_all(s, archs)
    return out


def score_all(scorer, archs: Sequence[Arch]) -> np.ndarray:
    """Scores of many architectures with a per-arch callable or a batch ``score_many``."""
    if hasattr(scorer, "score_many"):
        return np.asarray(scorer.score_many(archs), dtype=float)
    return np.array([float(scorer(a)) for a in archs], dtype=float)
