"""Where raynas reads published data and keeps its caches. Defined here once.

Data (published tables, Fashion-MNIST), first that applies:

1. a directory passed explicitly (``data_dir=`` arguments, ``--data-dir`` on the command line);
2. ``$RAYNAS_DATA``;
3. the user data directory, where ``raynas data fetch`` puts what it downloads
   (``~/.local/share/raynas`` on Linux, the platform's equivalent elsewhere).

Caches (proxy values, network features; safe to delete): ``$RAYNAS_CACHE``, else the user cache
directory (``~/.cache/raynas`` on Linux).

Every dataset lives in a subdirectory of the data directory named as in :data:`DATASETS`
(``nb201/``, ``fbnet/``, ``ofa/``, ``fashion-mnist/``). Nothing here depends on where raynas is
installed: an installed wheel and a checkout behave the same.

Example::

    >>> from raynas import paths
    >>> paths.dataset_dir("nb201")            # raises DataNotFoundError naming `raynas data fetch nb201`
    PosixPath('/home/me/.local/share/raynas/nb201')
"""

from __future__ import annotations

import os
from pathlib import Path

from raynas.errors import DataNotFoundError

APP = "raynas"

#: dataset name -> (subdirectory, a file whose presence means the dataset is there, fetch name)
DATASETS: dict[str, tuple[str, str, str]] = {
    "nb201": ("nb201", "accuracy_cifar10-valid_200ep.csv", "nb201"),
    "nb201-latency": ("nb201", "latency_ms.csv", "latency"),
    "fbnet": ("fbnet", "latency_ms.csv", "latency"),
    "ofa": ("ofa", "latency_ms.csv", "latency"),
    "fashion-mnist": ("fashion-mnist", "train-labels-idx1-ubyte.gz", "fashion-mnist"),
}


class _Default:
    """Sentinel for "the default location" where ``None`` already means "none" (in memory)."""

    def __repr__(self) -> str:
        return "<raynas cache dir>"

    def __reduce__(self):
        return "DEFAULT_CACHE"


#: default of ``cache_dir`` arguments whose ``None`` means "keep it in memory": :func:`cache_dir`
DEFAULT_CACHE = _Default()


def resolve_cache(value, sub: str | None = None) -> Path | None:
    """``None`` stays ``None`` (in memory); :data:`DEFAULT_CACHE` becomes :func:`cache_dir` (with
    ``sub``); anything else is a directory."""
    if value is None:
        return None
    if isinstance(value, _Default):
        return cache_dir(sub=sub)
    return Path(value).expanduser()


def user_data_dir() -> Path:
    """The platform's per-user data directory for raynas (where ``raynas data fetch`` writes)."""
    from platformdirs import user_data_dir as _udd

    return Path(_udd(APP, appauthor=False))


def user_cache_dir() -> Path:
    """The platform's per-user cache directory for raynas."""
    from platformdirs import user_cache_dir as _ucd

    return Path(_ucd(APP, appauthor=False))


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: ``explicit``, else ``$RAYNAS_DATA``, else :func:`user_data_dir`.

    The directory need not exist (loaders say what is missing and how to fetch it)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = os.environ.get("RAYNAS_DATA")
    if env:
        return Path(env).expanduser()
    return user_data_dir()


def cache_dir(explicit: str | os.PathLike | None = None, sub: str | None = None) -> Path:
    """The cache directory (``explicit``, ``$RAYNAS_CACHE`` or :func:`user_cache_dir`), optionally a
    subdirectory ``sub`` of it. Not created here; writers create it."""
    if explicit is not None and str(explicit) != "":
        base = Path(explicit).expanduser()
    else:
        env = os.environ.get("RAYNAS_CACHE")
        base = Path(env).expanduser() if env else user_cache_dir()
    return base / sub if sub else base


def fetch_hint(dataset: str) -> str:
    """The command that downloads ``dataset`` (for error messages)."""
    fetch = DATASETS.get(dataset, (dataset, "", dataset))[2]
    return f"`raynas data fetch {fetch}`"


def dataset_dir(dataset: str, explicit: str | os.PathLike | None = None, *, must_exist: bool = True) -> Path:
    """The directory holding ``dataset`` (a key of :data:`DATASETS`).

    ``explicit`` may be the data root or the dataset's own folder. With ``must_exist`` a missing
    dataset raises :class:`~raynas.errors.DataNotFoundError` naming the directory searched and the
    command that fetches it."""
    sub, marker, _ = DATASETS[dataset]
    root = data_dir(explicit)
    candidates = [root / sub, root] if explicit is not None else [root / sub]
    for c in candidates:
        if (c / marker).is_file():
            return c
    if must_exist:
        where = f"{str(explicit)!r}" if explicit is not None else (
            f"$RAYNAS_DATA ({os.environ['RAYNAS_DATA']!r})" if os.environ.get("RAYNAS_DATA")
            else f"the user data directory {str(root)!r}")
        raise DataNotFoundError(f"{dataset} data not found in {where} (no {sub}/{marker}); "
                                f"fetch it with {fetch_hint(dataset)} or pass --data-dir / set RAYNAS_DATA")
    return candidates[0]
