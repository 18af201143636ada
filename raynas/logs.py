"""raynas's logger and its one progress mechanism.

Everything raynas says goes through the ``raynas`` logger (``logging.getLogger("raynas")`` and its
children). As in Optuna, a handler writing to stderr is attached on first use so that progress of
long phases is visible without any setup; switch it off with :func:`disable_default_handler` (your
own handlers on ``"raynas"`` then decide) or quieten it with :func:`set_verbosity`.

:class:`Progress` reports a loop that may take more than a few seconds (proxy scoring, feature
building, hypernetwork training): a ``tqdm`` bar when stderr is a terminal, else one ``INFO`` log
line when it starts and then at most every ``interval`` seconds (under Ray Tune, in files, in CI),
and nothing at all below ``INFO`` verbosity.

Example::

    import logging
    from raynas import logs

    logs.set_verbosity(logging.WARNING)          # silence raynas's progress
    with logs.Progress(total=500, desc="warm-up: scoring networks") as bar:
        for arch in candidates:
            ...
            bar.update()
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

ROOT = "raynas"
_lock = threading.Lock()
_default_handler: logging.Handler | None = None
_default_disabled = False

T = TypeVar("T")


def _configure_root() -> None:
    global _default_handler
    with _lock:
        if _default_handler is not None or _default_disabled:
            return
        root = logging.getLogger(ROOT)
        handler = logging.StreamHandler()  # sys.stderr at the time of each write
        handler.setFormatter(logging.Formatter("[raynas %(asctime)s] %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
        root.propagate = False
        if root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        _default_handler = handler


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``raynas`` logger or its child ``raynas.<name>`` (the default handler attached)."""
    _configure_root()
    return logging.getLogger(ROOT if not name else f"{ROOT}.{name.removeprefix(ROOT + '.')}")


def set_verbosity(level: int) -> None:
    """Set the level of the ``raynas`` logger (``logging.WARNING`` silences progress)."""
    _configure_root()
    logging.getLogger(ROOT).setLevel(level)


def get_verbosity() -> int:
    """The effective level of the ``raynas`` logger."""
    return get_logger().getEffectiveLevel()


def disable_default_handler() -> None:
    """Remove raynas's stderr handler; records then propagate to the root logger's handlers."""
    global _default_handler, _default_disabled
    with _lock:
        _default_disabled = True
        root = logging.getLogger(ROOT)
        if _default_handler is not None:
            root.removeHandler(_default_handler)
            _default_handler = None
        root.propagate = True


def enable_default_handler() -> None:
    """Attach raynas's stderr handler again (after :func:`disable_default_handler`)."""
    global _default_disabled
    with _lock:
        _default_disabled = False
    _configure_root()


def _format_seconds(s: float) -> str:
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s // 60:.0f} min {s % 60:02.0f} s"
    return f"{s // 3600:.0f} h {(s % 3600) // 60:02.0f} min"


class Progress:
    """Progress of one loop of ``total`` steps (``None``: unknown), described by ``desc``.

    Args:
        total: number of steps, or ``None``.
        desc: what is being done, e.g. ``"warm-up: scoring 500 networks"``.
        unit: name of one step in messages.
        interval: seconds between log lines when not drawing a bar.
        logger: where log lines go (default ``raynas``).
        bar: ``True``/``False`` forces a tqdm bar on or off; ``None`` draws one only when stderr is
            a terminal.

    Use as a context manager (or call :meth:`close`); :meth:`update` advances it. The first line
    is written when the loop starts, so a long phase is visible at once; the last when it ends,
    with the elapsed time.
    """

    def __init__(self, total: int | None, desc: str, *, unit: str = "it", interval: float = 10.0,
                 logger: logging.Logger | None = None, bar: bool | None = None):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.interval = float(interval)
        self.logger = logger or get_logger()
        self.n = 0
        self.start = time.perf_counter()
        self._last = self.start
        self._closed = False
        self.enabled = self.logger.isEnabledFor(logging.INFO)
        use_bar = bar if bar is not None else is_terminal()
        self._bar = None
        if self.enabled and use_bar:
            try:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=total, desc=desc, unit=unit, leave=True, file=sys.stderr,
                                 dynamic_ncols=True)
            except ImportError:  # pragma: no cover - tqdm comes with optuna
                self._bar = None
        if self.enabled and self._bar is None:
            of = f" of {total}" if total is not None else ""
            self.logger.info("%s: started (%s%s %s)", desc, 0, of, unit)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def eta(self) -> float | None:
        """Estimated seconds left (``None`` when unknown)."""
        if not self.total or self.n <= 0:
            return None
        return self.elapsed / self.n * max(0, self.total - self.n)

    def update(self, n: int = 1, note: str | None = None) -> None:
        """Advance by ``n`` steps; ``note`` is appended to the next log line (e.g. a loss)."""
        self.n += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            return
        now = time.perf_counter()
        if now - self._last >= self.interval and (self.total is None or self.n < self.total):
            self._last = now
            self.logger.info("%s: %s", self.desc, self._status(note))

    def extend(self, n: int) -> None:
        """``n`` more steps join the loop (work queued while it runs)."""
        self.total = (self.total or 0) + n
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def advance(self, n: int = 1) -> None:
        """:meth:`update` by ``n``, and :meth:`close` once ``total`` steps are done."""
        self.update(n)
        if self.total is not None and self.n >= self.total:
            self.close()

    def _status(self, note: str | None = None) -> str:
        done = f"{self.n}/{self.total} {self.unit}" if self.total is not None else f"{self.n} {self.unit}"
        parts = [done, f"{_format_seconds(self.elapsed)} elapsed"]
        eta = self.eta()
        if eta is not None:
            parts.append(f"~{_format_seconds(eta)} left")
        if note:
            parts.append(note)
        return ", ".join(parts)

    def close(self, note: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            return
        done = f"{self.n} {self.unit}"
        extra = f", {note}" if note else ""
        self.logger.info("%s: done, %s in %s%s", self.desc, done, _format_seconds(self.elapsed), extra)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable: Iterable[T], desc: str, total: int | None = None, **kwargs) -> Iterator[T]:
    """Iterate ``iterable`` under a :class:`Progress` (``total`` from ``len()`` where it has one)."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(total, desc, **kwargs) as p:
        for item in iterable:
            yield item
            p.update()


def is_terminal() -> bool:
    """Whether stderr is a terminal (then progress draws bars and tables)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
