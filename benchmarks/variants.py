"""``--variant NAME='{json}'``: a raynas strategy setting run beside the defaults as a method of its own.

Shared by the search benchmarks (``search_quality.py``, ``nb201_three.py``, ``cluster_sim.py``,
``byo_search.py``): each ``NAME`` becomes a method whose keyword arguments are the JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable


def add_variant_option(parser: argparse.ArgumentParser, what: str = "ZeroCostStrategy") -> None:
    parser.add_argument("--variant", action="append", default=[], metavar="NAME='{json}'",
                        help=f"a {what} setting run as method NAME (keyword arguments as a JSON object; repeatable)")


def add_run_options(parser: argparse.ArgumentParser, methods: str, trials: int, out: str, what: str = "tables",
                    concurrency: int = 2) -> None:
    """The options of the benchmarks that run searches through Tune and append each run to ``--out``
    (``byo_search.py``, ``asha_search.py``): seeds, methods, budget, concurrency, output, ``--report``,
    ``--variant``."""
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--methods", default=methods)
    parser.add_argument("--trials", type=int, default=trials)
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--out", default=out)
    parser.add_argument("--report", action="store_true", help=f"only print the {what} from --out")
    add_variant_option(parser, "ZeroCostSearch")


def parse_variants(specs, parser: argparse.ArgumentParser | None = None) -> dict[str, dict]:
    """``{NAME: keyword arguments}`` from ``NAME={json}`` specs; a malformed one is an error naming it."""
    out: dict[str, dict] = {}
    for spec in specs or []:
        name, _, text = spec.partition("=")
        try:
            kwargs = json.loads(text)
        except json.JSONDecodeError as exc:
            kwargs, problem = None, f"not JSON ({exc.msg})"
        else:
            problem = None if isinstance(kwargs, dict) else "not a JSON object"
        if not name or problem:
            message = f"--variant {spec!r}: expected NAME='{{json object}}', " + (problem or "no NAME")
            if parser is not None:
                parser.error(message)
            raise ValueError(message)
        out[name] = kwargs
    return out


def run_record(method: str, variants: dict[str, dict]) -> dict:
    """What a variant's run record carries so that a report from the file alone names its setting
    (``{"settings": ...}``; nothing for a built-in method)."""
    return {"settings": variants[method]} if method in variants else {}


def variant_settings(method: str, variants: dict[str, dict], runs: Iterable[dict] = ()) -> dict | None:
    """A variant's settings: as given on this command line, else as its runs recorded them (``None``:
    neither says)."""
    if method in variants:
        return variants[method]
    return next((r["settings"] for r in runs if "settings" in r), None)


def variant_label(what: str, method: str, settings: dict | None) -> str:
    """``raynas <what>, variant <method>: <settings as JSON>`` (``?`` when unknown)."""
    return f"raynas {what}, variant {method}: " + ("?" if settings is None else json.dumps(settings))
