"""The ``raynas`` command.

    raynas search            multi-objective NAS (accuracy vs CPU latency measured here) as Tune trials;
                             --searcher picks raynas's or Optuna's, --compare runs a second one beside it
    raynas proxies ARCH...   zero-cost proxy scores of architectures, as a table
    raynas pareto DIR        the Pareto front of a finished search's results.csv (--export: into an
                             Optuna storage for optuna-dashboard)

This is the only core module allowed to import ``searchers`` (the Ray Tune layer), and it does so
lazily, inside the commands that need Ray.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from raynas.errors import DataNotFoundError, InvalidConfigError, RaynasError


def _number(cast, low: float, inclusive: bool, words: str):
    """An argparse type: ``cast(text)``, finite and above ``low`` (or equal, when ``inclusive``)."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}") from None
        if not ((value >= low) if inclusive else (value > low)) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}")
        return value
    return parse


_positive_int = _number(int, 1, True, "a positive integer")
_nonnegative_int = _number(int, 0, True, "an integer >= 0")
_positive_float = _number(float, 0, False, "a positive number")


#: what ``raynas search --searcher`` accepts (``nsga2``, ``tpe``, ``gp`` also name Optuna's samplers)
SEARCHER_CHOICES = ("zc", "predictor", "aging", "random", "hypernet", "similarity", "optuna-nsga2", "optuna-tpe",
                    "optuna-gp", "optuna-random")

#: options of ``raynas search`` that only one searcher reads -> that searcher
SEARCHER_OPTIONS = {"--train-devices": "hypernet", "--accuracy-labels": "hypernet", "--refit-every": "hypernet",
                    "--reference": "similarity", "--budget": "similarity"}

#: ``--train-devices`` default: NB201 latency-table columns of four device families (GPU at batch 1 and
#: 32, phone, server CPU), as in README.md's hypernetwork example
DEFAULT_TRAIN_DEVICES = ("1080ti_1", "pixel3", "silver_4114", "titanx_32")


class _SearcherOption(argparse.Action):
    """Stores the value of an option of :data:`SEARCHER_OPTIONS` and notes, in ``given``, that it
    was given (an option of another searcher is then an error, :func:`_check_searcher_options`)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = (*getattr(namespace, "given", ()), option_string)


def _searcher_name(text: str) -> str:
    name = f"optuna-{text}" if text in ("nsga2", "tpe", "gp", "qmc") else text
    if name not in SEARCHER_CHOICES and name != "optuna-qmc":
        raise argparse.ArgumentTypeError(f"unknown searcher {text!r}; choose from {', '.join(SEARCHER_CHOICES)}")
    return name


def _make_search_alg(name: str, space, metric, mode, args):
    """The Tune searcher ``name`` (one of :data:`SEARCHER_CHOICES`) over ``space``."""
    if name.startswith("optuna-"):
        from searchers.optuna_moo import optuna_moo_search

        sampler = name.removeprefix("optuna-")
        return optuna_moo_search(metric, mode, sampler=sampler, seed=args.seed,
                                 population_size=args.population if sampler == "nsga2" else None)
    if name == "predictor":
        from searchers import PredictorSearch

        return PredictorSearch(space, metric, mode, seed=args.seed)
    if name == "hypernet":
        return _hypernet_search(space, metric, mode, args)
    if name == "similarity":
        return _similarity_search(space, metric, mode, args)
    from searchers import make_searcher

    return make_searcher(name, space, metric, mode, seed=args.seed)


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="multi-objective NAS through Ray Tune (accuracy max, latency min)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="digits", choices=["digits", "fashion-mnist"])
    p.add_argument("--data-dir", default=None,
                   help="data directory (default: $RAYNAS_DATA, else the user data directory; see `raynas data "
                        "info`), or the folder of Fashion-MNIST's files; hypernet reads the NB201 tables from it")
    p.add_argument("--samples", type=_positive_int, default=40, help="number of trials (the budget)")
    p.add_argument("--epochs", type=_positive_int, default=4, help="training epochs of a complete trial")
    p.add_argument("--limit", type=_positive_int, default=None, help="use at most this many images")
    p.add_argument("--searcher", default="zc", type=_searcher_name, metavar="{" + ",".join(SEARCHER_CHOICES) + "}",
                   help="zc: raynas ZeroCostSearch; predictor: PredictorSearch; aging / random: raynas evolution "
                        "and random search; hypernet: HypernetSearch (MODNAS, trained first from the published NB201 "
                        "tables, this CPU as its target device); similarity: SimilarityEvolutionSearch "
                        "(HW-EvRSNAS, similarity to --reference within --budget); optuna-<sampler>: Tune's "
                        "OptunaSearch with that Optuna sampler")
    p.add_argument("--compare", default=None, type=_searcher_name, metavar="SEARCHER",
                   help="then run this searcher with the same budget and seed, and print both fronts' hypervolume")
    p.add_argument("--population", type=_positive_int, default=10, help="NSGA-II population size")
    _add_searcher_options(p)
    p.add_argument("--scheduler", default="asha", choices=["asha", "none"])
    p.add_argument("--concurrency", type=_positive_int, default=2, help="trials running at once")
    p.add_argument("--channels", type=_positive_int, default=16, help="NB201 C")
    p.add_argument("--cells", type=_positive_int, default=5, help="NB201 N (cells per stage)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="raynas_results", help="directory for results.csv, pareto.csv/png")
    p.add_argument("--address", default=None, help="join this Ray cluster instead of starting a local one")
    p.add_argument("--max-failures", type=int, default=0,
                   help="retries of a trial that raised or lost its node (-1: without limit)")
    p.add_argument("--resume", action="store_true",
                   help="resume the interrupted search in --output (run with the same options)")
    p.add_argument("--tune-loggers", action="store_true",
                   help="switch Tune's per-trial file loggers back on (progress.csv, result.json, TensorBoard)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the search already in --output (without it, an existing search is refused)")
    p.set_defaults(func=_cmd_search, given=())


def _add_searcher_options(p) -> None:
    """The options of :data:`SEARCHER_OPTIONS`."""
    hypernet = p.add_argument_group("hypernet (--searcher hypernet)")
    hypernet.add_argument("--train-devices", nargs="+", default=list(DEFAULT_TRAIN_DEVICES), metavar="NAME",
                          action=_SearcherOption,
                          help="NB201 latency-table devices the hypernetwork and its latency predictor are trained "
                               "on (`raynas data info` says where the table is); this CPU is the target, zero-shot")
    hypernet.add_argument("--accuracy-labels", type=_positive_int, default=100, metavar="N", action=_SearcherOption,
                          help="NB201 CIFAR-10 accuracies the accuracy surrogate learns from")
    hypernet.add_argument("--refit-every", type=_nonnegative_int, default=24, metavar="N", action=_SearcherOption,
                          help="completed trials between refinements of the surrogates and the hypernetwork on "
                               "what the trials measured (0: never)")
    similarity = p.add_argument_group("similarity (--searcher similarity)")
    similarity.add_argument("--reference", default=None, metavar="PATH", action=_SearcherOption,
                            help="reference model file written by raynas.reference.save_reference (without it: "
                                 "a SmallResNet is trained on --dataset for --epochs epochs first)")
    similarity.add_argument("--budget", type=_positive_float, default=None, metavar="MS", action=_SearcherOption,
                            help="latency budget in ms on this CPU, timed as the trials time their networks "
                                 "(without it: similarity alone)")


def _check_searcher_options(args) -> None:
    """An option of one searcher given to a search that does not run it is an error naming it."""
    running = [n for n in (args.searcher, args.compare) if n]
    for option in args.given:
        owner = SEARCHER_OPTIONS[option]
        if owner not in running:
            raise InvalidConfigError(f"{option} is an option of --searcher {owner}; this search runs "
                                     f"{' and '.join(running)}")
    if args.reference and not args.resume and not Path(args.reference).is_file():
        raise DataNotFoundError(f"reference file {args.reference!r} (--reference) does not exist")


def _this_cpu(args):
    """This CPU as a device, timing networks as the live trials do
    (:meth:`~searchers.trainables.LiveTrialSettings.device`)."""
    from raynas.data import load_dataset
    from searchers.trainables import LiveTrialSettings

    return LiveTrialSettings().device(load_dataset(args.dataset, args.data_dir))


def _hypernet_search(space, metric, mode, args):
    """MODNAS's :class:`~searchers.HypernetSearch`, trained now from the published NB201 tables, with
    this CPU (its latencies of the reference architectures, measured here) as the one target."""
    from raynas.hardware.registry import reference_archs
    from raynas.hypernet import HardwareProfile
    from raynas.strategies.hypernet import build_surrogate_strategy
    from searchers import HypernetSearch

    _, archs = reference_archs(space.name, args.data_dir)
    print(f"hypernet: timing the {len(archs)} reference architectures on this CPU, then training the "
          f"hypernetwork on {', '.join(args.train_devices)} with {args.accuracy_labels} accuracy labels", flush=True)
    here = HardwareProfile.from_device(_this_cpu(args), space, reference_archs=archs)
    strategy = build_surrogate_strategy(space, train_devices=args.train_devices, targets={here.name: here},
                                        data_dir=args.data_dir, n_accuracy_archs=args.accuracy_labels,
                                        refit_every=args.refit_every, seed=args.seed)
    return HypernetSearch(strategy, space, metric, mode)


def _reference(args):
    """The reference model of ``--searcher similarity``: ``--reference``, else one trained now."""
    from raynas.reference import load_reference, train_reference
    from raynas.training import TrainingSettings

    if args.reference:
        reference = load_reference(args.reference)
        trained_on = reference.metadata.setdefault("dataset", args.dataset)
        if trained_on != args.dataset:
            raise InvalidConfigError(f"reference {args.reference!r} was trained on {trained_on!r}; this search "
                                     f"runs on {args.dataset!r} (--dataset)")
        return reference
    limit = {"limit": args.limit} if args.limit else {}
    print(f"similarity: no --reference given; training a SmallResNet reference on {args.dataset} for "
          f"{args.epochs} epoch{'s' if args.epochs > 1 else ''}", flush=True)
    reference = train_reference(kind="resnet", dataset=args.dataset, data_dir=args.data_dir,
                                settings=TrainingSettings(epochs=args.epochs, seed=args.seed), seed=args.seed,
                                **limit)
    print(f"similarity: reference validation accuracy {reference.metadata['accuracy']:.1f} % "
          f"(trained in {reference.metadata['train_time_s']:.0f} s)", flush=True)
    return reference


def _similarity_search(space, metric, mode, args):
    """HW-EvRSNAS's :class:`~searchers.SimilarityEvolutionSearch`: similarity to the reference,
    penalised above ``--budget`` ms of latency on this CPU."""
    from raynas.strategies.similarity import latency_cost
    from searchers import SimilarityEvolutionSearch

    reference = _reference(args)
    cost = latency_cost(_this_cpu(args), space) if args.budget is not None else None
    return SimilarityEvolutionSearch.from_reference(reference, space, cost=cost, budget=args.budget, metric=metric,
                                                    mode=mode, seed=args.seed, data_dir=args.data_dir)


def _cmd_search(args) -> int:
    from raynas.spaces import NB201Space
    from searchers.experiment import resume_search, run_search
    from searchers.spaces import tune_param_space
    from searchers.trainables import live_trainable

    if args.dataset == "fashion-mnist" and args.data_dir and not Path(args.data_dir).is_dir():
        raise RaynasError(f"data directory {args.data_dir!r} does not exist")
    if args.compare and args.resume:
        raise RaynasError("--compare runs two new searches; resume each with --resume and its own --output")
    _check_searcher_options(args)
    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    space = NB201Space(channels=args.channels, cells_per_stage=args.cells)
    trainable = live_trainable(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
                               limit=args.limit, seed=args.seed,
                               space_kwargs={"channels": args.channels, "cells_per_stage": args.cells})

    def scheduler():
        if args.scheduler != "asha":
            return None
        from ray.tune.schedulers import ASHAScheduler

        return ASHAScheduler(metric="accuracy", mode="max", time_attr="epoch",
                             max_t=args.epochs, grace_period=1, reduction_factor=2)

    runs = [(args.searcher, Path(args.output))]
    if args.compare:
        runs.append((args.compare, Path(args.output) / f"vs-{args.compare}"))
    outcomes = []
    for name, output in runs:
        print(f"raynas search: NB201(C={args.channels}, N={args.cells}) on {args.dataset}, {args.samples} trials, "
              f"{name} + {args.scheduler}, objectives accuracy (max) and latency_ms on this CPU (min)", flush=True)
        if args.resume:
            outcome = resume_search(output, trainable, metric=metric, mode=mode, address=args.address)
        else:
            searcher = _make_search_alg(name, space, metric, mode, args)
            outcome = run_search(trainable, tune_param_space(space), searcher, scheduler(), metric=metric, mode=mode,
                                 num_samples=args.samples, output_dir=output, max_concurrent=args.concurrency,
                                 address=args.address, max_failures=args.max_failures, overwrite=args.overwrite,
                                 tune_loggers=args.tune_loggers)
        _print_front(outcome.front, metric)
        n_complete = int(outcome.results.get("epoch", 0).ge(args.epochs).sum()) if "epoch" in outcome.results else 0
        print(f"\n{len(outcome.results)} trials ({n_complete} trained for all {args.epochs} epochs) "
              f"in {outcome.wall_time_s:.0f} s; wrote {outcome.output_dir / 'results.csv'}, pareto.csv, pareto.png",
              flush=True)
        outcomes.append((name, outcome))
    if len(outcomes) > 1:
        print(_compare_table(outcomes, metric, mode))
    return 0


def _compare_table(outcomes, metric, mode) -> str:
    """Both searches side by side, each front's hypervolume normalised in one box for both."""
    from searchers.results import MARGIN, format_value, hypervolume_box, normalised_hypervolume

    frames = [o.results for _, o in outcomes]
    ideal, reference = hypervolume_box(frames, metric, mode, fidelity="epoch", margin=MARGIN)
    hvs = [normalised_hypervolume(df, metric, mode, ideal=ideal, reference=reference, fidelity="epoch")
           for df in frames]

    def point(values):
        return ", ".join(f"{m} {format_value(v, m)}" for m, v in zip(metric, values))

    lines = [f"\nNormalised hypervolume of each search's front (complete trials) in one box for both: from ideal "
             f"[{point(ideal)}] (the best value of each metric) to reference [{point(reference)}] (the worst "
             f"+ {MARGIN:.0%} of the range); 1 = a trial at the ideal point",
             f"{'searcher':<14} {'trials':>6} {'front':>5} {'best accuracy %':>16} {'fastest ms':>11} {'HV':>6} "
             f"{'time s':>7}"]
    for (name, o), hv in zip(outcomes, hvs):
        f = o.front
        best = f"{f['accuracy'].max():.2f}" if len(f) else "-"
        fast = f"{f['latency_ms'].min():.3g}" if len(f) else "-"
        lines.append(f"{name:<14} {len(o.results):>6} {len(f):>5} {best:>16} {fast:>11} {hv.value:>6.3f} "
                     f"{o.wall_time_s:>7.0f}")
    return "\n".join(lines)


def _print_front(front, metric: Sequence[str]) -> None:
    cols = [c for c in [*metric, "latency_iqr_ms", "params", "flops", "epoch", "arch"] if c in front.columns]
    print(f"\nPareto front ({len(front)} architectures, complete trials only):")
    with __import__("pandas").option_context("display.width", 200, "display.max_colwidth", 100):
        print(front[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _add_pareto(sub) -> None:
    p = sub.add_parser("pareto", help="Pareto front of a search's results.csv")
    p.add_argument("directory", help="output directory of `raynas search` (or a results.csv)")
    p.add_argument("--metric", nargs="+", default=["accuracy", "latency_ms"])
    p.add_argument("--mode", nargs="+", default=["max", "min"])
    p.add_argument("--export", default=None, metavar="STORAGE",
                   help="also write the search into this Optuna storage (a .db file or a URL) for optuna-dashboard")
    p.add_argument("--study", default="raynas-search", help="study name for --export")
    p.set_defaults(func=_cmd_pareto)


def _cmd_pareto(args) -> int:
    import pandas as pd

    from raynas.errors import DataNotFoundError
    from searchers.results import pareto_front

    path = Path(args.directory)
    path = path / "results.csv" if path.is_dir() else path
    if not path.is_file():
        raise DataNotFoundError(f"no results.csv at {str(path)!r}")
    results = pd.read_csv(path)
    _print_front(pareto_front(results, args.metric, args.mode), args.metric)
    if args.export:
        from searchers.export import export_to_optuna, storage_url

        export_to_optuna(results, args.metric, args.mode, args.export, args.study)
        print(f"\nwrote study {args.study!r} to {storage_url(args.export)}; open it with:  "
              f"optuna-dashboard {storage_url(args.export)}")
    return 0


def _add_proxies(sub) -> None:
    p = sub.add_parser("proxies", help="zero-cost proxy scores of architectures, as a table",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("archs", nargs="+", help="architecture strings, or official indices (NB201 arch_index, "
                   "FBNet arch_id; read from the data directory)")
    p.add_argument("--space", default="nb201", help="search space")
    p.add_argument("--names", nargs="+", default=None,
                   help="proxies (default: the paper's six, naswot, params and flops)")
    p.add_argument("--batch", default="fashion-mnist", help="stand-in batch: fashion-mnist, digits or random")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--image-size", type=_positive_int, default=32)
    p.add_argument("--num-classes", type=_positive_int, default=10)
    p.add_argument("--seed", type=int, default=0, help="seeds the batch and each network's initialisation")
    p.add_argument("--data-dir", default=None, help="data directory (default: $RAYNAS_DATA, else the user data directory; see `raynas data info`)")
    p.add_argument("--threads", type=_positive_int, default=1, help="torch threads")
    p.set_defaults(func=_cmd_proxies)


def _resolve_arch(space, text: str, data_dir):
    """An architecture string of ``space``, or an official index of its published table."""
    from raynas.errors import InvalidArchitectureError

    if not text.strip().lstrip("-").isdigit():
        return space.parse(text)
    from raynas.predictors.tables import load_space_table

    archs = load_space_table(space.name, data_dir).archs  # row order = the publisher's index
    index = int(text)
    if not 0 <= index < len(archs):
        raise InvalidArchitectureError(f"{space.name}: index {index} outside the published table (0..{len(archs) - 1})")
    return archs[index]


def _cmd_proxies(args) -> int:
    import time

    import pandas as pd
    import torch

    from raynas.data import stand_in_batch
    from raynas.logs import Progress
    from raynas.proxies import PAPER_PROXIES, resolve_names, score_architectures
    from raynas.spaces import get_space

    space = get_space(args.space)
    names = resolve_names(args.names or [*PAPER_PROXIES, "naswot", "params", "flops"])
    archs = [_resolve_arch(space, a, args.data_dir) for a in args.archs]
    fm_dir = None if args.data_dir is None else Path(args.data_dir) / "fashion-mnist"
    batch = stand_in_batch(args.batch, args.batch_size, args.seed, args.image_size, 3, args.num_classes, fm_dir)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with Progress(len(archs), "scoring architectures", unit="networks", bar=False if len(archs) < 3 else None) as bar:
        table = score_architectures(space, archs, names, batch, num_classes=args.num_classes, seed=args.seed,
                                    progress=lambda i, n: bar.update())
    seconds = time.perf_counter() - t0
    # one row per input as typed, so an index and the string it stands for are told apart
    table.insert(0, "arch", table.index)
    table.insert(0, "input", list(args.archs))
    if all(a == s for a, s in zip(args.archs, table["arch"])):
        table = table.drop(columns="arch")
    for col in ("input", "arch"):  # left-aligned text
        if col in table:
            table[col] = table[col].str.ljust(int(table[col].str.len().max()))
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(table.to_string(index=False, justify="left", float_format=lambda v: f"{v:.5g}"))
    print(f"\n{len(archs)} architecture(s), {len(names)} proxies on a {args.batch} batch of {args.batch_size} "
          f"({args.image_size}x{args.image_size}x3), seed {args.seed}: {seconds / len(archs):.2f} s per architecture")
    return 0


def _add_data(subparsers) -> None:
    """``raynas data fetch`` and ``raynas data info`` (:mod:`raynas.datasets`)."""
    from raynas.datasets import MANIFEST, MIRROR_ENV

    p = subparsers.add_parser("data", help="download the published datasets, or list what is present",
                              description="Published datasets: `raynas data fetch NAME...` downloads them "
                              "(SHA-256 checked, resumable), `raynas data info` lists what is present.")
    sub = p.add_subparsers(dest="data_command", required=True)
    f = sub.add_parser("fetch", help="download datasets into the data directory")
    f.add_argument("names", nargs="+", choices=[*MANIFEST, "all"], metavar="NAME",
                   help=f"one or more of: {', '.join([*MANIFEST, 'all'])}")
    f.add_argument("--data-dir", default=None,
                   help="data directory (default: $RAYNAS_DATA, else the user data directory)")
    f.add_argument("--mirror", default=None, help=f"base URL or directory serving the data directory's "
                   f"layout, used instead of the original locations (default: ${MIRROR_ENV})")
    f.add_argument("--force", action="store_true", help="download again even files that are present and intact")
    f.set_defaults(func=_cmd_data_fetch)
    i = sub.add_parser("info", help="list each dataset: present or not, where, size, licence, source")
    i.add_argument("--data-dir", default=None,
                   help="data directory (default: $RAYNAS_DATA, else the user data directory)")
    i.set_defaults(func=_cmd_data_info)


def _cmd_data_fetch(args) -> int:
    """``raynas data fetch``: prints one line per file and where the data now is."""
    from raynas import paths
    from raynas.datasets import fetch, resolve_names

    results = fetch(args.names, data_dir=args.data_dir, mirror=args.mirror, force=args.force)
    for r in results:
        print(f"{r.action:<11} {r.path}" + ("  (licence text not at the source; see the log)"
                                              if r.action == "unavailable" else ""))
    counts = {a: sum(r.action == a for r in results) for a in ("downloaded", "converted", "present", "unavailable")}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    print(f"\n{', '.join(resolve_names(args.names))}: ready in {paths.data_dir(args.data_dir)} ({summary})")
    return 0


def _cmd_data_info(args) -> int:
    """``raynas data info``."""
    from raynas.datasets import format_info, info

    print(format_info(info(args.data_dir), args.data_dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="raynas", description="Hardware-aware NAS on Ray Tune")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_search(sub)
    _add_pareto(sub)
    _add_proxies(sub)
    _add_data(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Before torch is imported (commands import it lazily): OpenMP busy-waiting makes a shared
    # 2-core machine ~10x slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RaynasError as exc:
        print(f"raynas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("raynas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
