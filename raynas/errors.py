"""Errors raised for bad user input. Each one names the offending value in its message."""

from __future__ import annotations


class RaynasError(ValueError):
    """Base class: a user-facing problem with an input, reported in one line."""


class InvalidArchitectureError(RaynasError):
    """An architecture string, index or op name that the search space does not have."""


class InvalidConfigError(RaynasError):
    """A Tune config or a parameter (budget, metric/mode list, ...) that cannot be used."""


class DataNotFoundError(RaynasError, FileNotFoundError):
    """A data directory or file that does not exist or lacks the expected files."""


class UnknownNameError(RaynasError, KeyError):
    """A name (proxy, device, space) that no registry knows."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DataChecksumError(RaynasError):
    """A downloaded or converted data file whose SHA-256 is not the published one (it was deleted)."""


class DataDownloadError(RaynasError):
    """A data file that could not be downloaded from any of its URLs (the message names them)."""
