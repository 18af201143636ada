"""Pictures of a finished search: the Pareto front, the hypervolume over trials, one front per
device, and an interactive HTML front.

Every function takes a ``ResultGrid`` or a results DataFrame (``run_search(...).results``, or
``results.csv`` read back) and the search's ``metric``/``mode`` lists. Axis labels carry units and
an arrow for the better direction (``accuracy (%) ↑``, ``latency (ms) ↓``; units from
:data:`searchers.results.UNITS`, yours through ``units={"energy": "J"}``). Trials a scheduler
stopped early are drawn hollow, failed trials as crosses (at the edge of the plot when a metric
is missing), the front of the complete trials in red. The ``*_figure`` functions return a
matplotlib ``Figure`` drawn with the Agg backend (no display, no pyplot state); :func:`write_plots`
writes every picture into a directory.

Example::

    from searchers.plots import write_plots
    write_plots(outcome.results, ["accuracy", "latency_ms"], ["max", "min"], "raynas_results")
    # pareto.png, hypervolume.png, devices.png (with latency_ms/<device> columns), front.html

The interactive front (:func:`write_front_html`) is one self-contained HTML file with an inline
SVG and a few lines of JavaScript: no CDN and no plotting package, so it opens offline and stays
tens of kilobytes. For Optuna's plotly figures and optuna-dashboard, export the search with
:func:`searchers.export.export_to_optuna`.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from raynas import moo
from raynas.errors import InvalidConfigError
from searchers.results import (COMPLETE, FAILED, STOPPED, format_value, hypervolume_history, metric_label,
                               pareto_front, results_dataframe, trial_status)

#: Colours of the trial kinds (matplotlib's tab palette), shared by the PNGs and the HTML.
COLOURS = {COMPLETE: "#1f77b4", STOPPED: "#7f7f7f", FAILED: "#d62728", "front": "#d62728"}
LATENCY_PREFIX = "latency_ms/"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: .png, .svg, .pdf) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _prepared(results, metric, mode, fidelity, full_fidelity):
    df = results_dataframe(results).reset_index(drop=True)
    metric, mode = moo.validate_metric_mode(metric, mode)
    status = trial_status(df, metric, fidelity, full_fidelity)
    front = pareto_front(df.assign(_row=np.arange(len(df))), metric, mode, fidelity, full_fidelity)
    on_front = np.zeros(len(df), dtype=bool)
    on_front[front["_row"].to_numpy(dtype=int)] = True
    return df, metric, mode, status, on_front


def _counts(status: pd.Series) -> str:
    n = status.value_counts()
    parts = [f"{n.get(COMPLETE, 0)} complete"]
    parts += [f"{n[s]} {s}" for s in (STOPPED, FAILED) if n.get(s, 0)]
    return ", ".join(parts)


# --- the Pareto front --------------------------------------------------------------------------------
def _draw_front(ax, df, x, y, modes, status, on_front, units, faint=None):
    """Scatter of one (x, y) pair: complete filled, stopped hollow, failed crosses, front in red."""
    xs, ys = (pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in (x, y))
    if faint is not None and faint.any():
        ax.scatter(xs[faint], ys[faint], s=12, c="#cccccc", label=f"other trials ({int(faint.sum())})")
    shown = ~faint if faint is not None else np.ones(len(df), dtype=bool)
    kinds = status.to_numpy()
    complete = shown & (kinds == COMPLETE) & ~on_front
    stopped = shown & (kinds == STOPPED)
    if complete.any():
        ax.scatter(xs[complete], ys[complete], s=22, c=COLOURS[COMPLETE],
                   label=f"other complete ({int(complete.sum())})")
    if stopped.any():
        ax.scatter(xs[stopped], ys[stopped], s=22, facecolors="none", edgecolors=COLOURS[STOPPED],
                   label=f"stopped early ({int(stopped.sum())})")
    _draw_failed(ax, xs, ys, shown & (kinds == FAILED), modes)
    front = shown & on_front
    if front.any():
        better_x_first = np.argsort(xs[front] if modes[0] == "min" else -xs[front], kind="stable")
        fx, fy = xs[front][better_x_first], ys[front][better_x_first]
        ax.step(fx, fy, where="post", c=COLOURS["front"], lw=1.3, zorder=2)
        ax.scatter(fx, fy, s=40, c=COLOURS["front"], zorder=3, label=f"Pareto front ({int(front.sum())})")
    ax.set_xlabel(metric_label(x, modes[0], units))
    ax.set_ylabel(metric_label(y, modes[1], units))
    ax.grid(alpha=0.3)


def _draw_failed(ax, xs, ys, failed, modes) -> None:
    """Failed trials as crosses: where both values are known at them; with one value missing at the
    worst edge of that axis (drawn outside the clip); with none, only counted in the legend."""
    if not failed.any():
        return
    fx, fy = np.isfinite(xs), np.isfinite(ys)
    both, only_x, only_y = failed & fx & fy, failed & fx & ~fy, failed & ~fx & fy
    nowhere = int((failed & ~fx & ~fy).sum())
    label = f"failed ({int(failed.sum())}" + (f", {nowhere} without values" if nowhere else "") + ")"
    known_x, known_y = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    edge_x = (known_x.max() if modes[0] == "min" else known_x.min()) if known_x.size else 0.0
    edge_y = (known_y.min() if modes[1] == "max" else known_y.max()) if known_y.size else 0.0
    px = np.concatenate([xs[both], xs[only_x], np.full(int(only_y.sum()), edge_x)])
    py = np.concatenate([ys[both], np.full(int(only_x.sum()), edge_y), ys[only_y]])
    ax.scatter(px, py, s=30, marker="x", c=COLOURS[FAILED], clip_on=False, label=label)  # a legend entry even if empty


def pareto_figure(results, metric: Sequence[str], mode: Sequence[str], *, title: str | None = None,
                  units: Mapping[str, str] | None = None, fidelity: str = "training_iteration",
                  full_fidelity: float | None = None):
    """The Pareto front of a search as a matplotlib ``Figure``: every trial against the first two
    metrics (x: the second metric, y: the first), one panel per further metric (x: that metric),
    the front of the complete trials as a red staircase. Its title says how many trials are on the
    front and how they ended."""
    df, metric, mode, status, on_front = _prepared(results, metric, mode, fidelity, full_fidelity)
    if len(metric) < 2:
        raise InvalidConfigError(f"a Pareto plot needs two or more metrics, got {metric}")
    pairs = [(metric[j], metric[0], (mode[j], mode[0])) for j in range(1, len(metric))]
    fig = _figure(5.6 * len(pairs) + 0.6, 4.4)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    for ax, (x, y, modes) in zip(axes, pairs):
        _draw_front(ax, df, x, y, modes, status, on_front, units)
    axes[0].legend(fontsize=8)
    fig.suptitle(title or f"Pareto front: {int(on_front.sum())} of {len(df)} trials ({_counts(status)})",
                 fontsize=11)
    fig.tight_layout()
    return fig


# --- hypervolume over trials ---------------------------------------------------------------------------
def hypervolume_figure(results, metric: Sequence[str], mode: Sequence[str], *, ideal: Sequence[float] | None = None,
                       reference: Sequence[float] | None = None, title: str | None = None,
                       units: Mapping[str, str] | None = None, fidelity: str = "training_iteration",
                       full_fidelity: float | None = None):
    """The normalised hypervolume of the complete trials' front after each trial (see
    :func:`searchers.results.hypervolume_history`), with the box it is normalised to -- ideal and
    reference point in metric units -- printed in the figure."""
    df = results_dataframe(results)
    history, final = hypervolume_history(df, metric, mode, ideal=ideal, reference=reference, fidelity=fidelity,
                                         full_fidelity=full_fidelity)
    fig = _figure(6.4, 4.4)
    ax = fig.subplots()
    trials, hv = history["trial"].to_numpy() + 1, history["hypervolume"].to_numpy()
    ax.step(trials, hv, where="post", c=COLOURS[COMPLETE], lw=1.5)
    gains = np.flatnonzero(np.diff(np.concatenate([[0.0], np.nan_to_num(hv)])) > 0)
    ax.scatter(trials[gains], hv[gains], s=18, c=COLOURS[COMPLETE], zorder=3, label="a trial raised the front")
    kinds = history["status"].to_numpy()
    for kind, marker in ((STOPPED, "o"), (FAILED, "x")):
        at = np.flatnonzero(kinds == kind)
        if at.size:
            style = ({"facecolors": "none", "edgecolors": COLOURS[STOPPED]} if kind == STOPPED
                     else {"c": COLOURS[FAILED]})
            ax.scatter(trials[at], np.zeros(at.size), s=16, marker=marker, clip_on=False,
                       label=f"{kind} ({at.size})", **style)
    ax.set_xlabel("trial")
    ax.set_ylabel("normalised hypervolume \u2191")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0.5, max(len(df), 1) + 0.5)
    ax.grid(alpha=0.3)
    box = "\n".join([
        "ideal:     " + ", ".join(f"{m} {format_value(v, m, units)}" for m, v in zip(final.metric, final.ideal)),
        "reference: " + ", ".join(f"{m} {format_value(v, m, units)}" for m, v in zip(final.metric, final.reference)),
        f"({final.box})",
    ])
    ax.text(0.98, 0.04, box, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, family="monospace",
            bbox={"boxstyle": "round", "fc": "white", "ec": "#999999", "alpha": 0.9})
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or f"Hypervolume over trials: {final.value:.3f} after {len(df)}", fontsize=11)
    fig.tight_layout()
    return fig


# --- one front per device ------------------------------------------------------------------------------
def latency_devices(results) -> list[str]:
    """Devices with a ``latency_ms/<device>`` column, in column order."""
    df = results_dataframe(results)
    return [c[len(LATENCY_PREFIX):] for c in df.columns if isinstance(c, str) and c.startswith(LATENCY_PREFIX)]


def device_fronts_figure(results, *, quality: str = "accuracy", quality_mode: str = "max",
                         devices: Sequence[str] | None = None, target: str = "config/target_device",
                         ncols: int = 3, title: str | None = None, units: Mapping[str, str] | None = None,
                         fidelity: str = "training_iteration", full_fidelity: float | None = None):
    """One panel per device: ``quality`` against ``latency_ms/<device>``, each with its own front.

    For a hypernetwork run (results with a ``target`` column, the device each trial was proposed
    for) a panel shows the trials proposed for its device and their front, the others in grey;
    otherwise every trial in every panel. ``devices`` defaults to every ``latency_ms/<device>``
    column (and, with a target column, only the devices trials were proposed for)."""
    df = results_dataframe(results).reset_index(drop=True)
    names = list(devices) if devices is not None else latency_devices(df)
    targeted = target in df.columns
    if devices is None and targeted:
        proposed = set(df[target].dropna().astype(str))
        names = [d for d in names if d in proposed]
    missing = [d for d in names if LATENCY_PREFIX + d not in df.columns]
    if missing or not names:
        raise InvalidConfigError(f"no latency_ms/<device> column for device(s) {missing or names}; the results "
                                 f"have {latency_devices(df)}")
    ncols = max(1, min(int(ncols), len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(4.4 * ncols, 3.8 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, device in zip(axes, names):
        column = LATENCY_PREFIX + device
        mine = (df[target].astype(str) == device).to_numpy() if targeted else np.ones(len(df), dtype=bool)
        metric, mode = [quality, column], [quality_mode, "min"]
        status = trial_status(df, metric, fidelity, full_fidelity)
        front = pareto_front(df[mine].assign(_row=np.flatnonzero(mine)), metric, mode, fidelity, full_fidelity)
        on_front = np.zeros(len(df), dtype=bool)
        on_front[front["_row"].to_numpy(dtype=int)] = True
        _draw_front(ax, df, column, quality, ("min", quality_mode), status, on_front, units, faint=~mine)
        ax.set_title(f"{device}: {int(on_front.sum())} on the front of {int(mine.sum())}", fontsize=9)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(title or f"Pareto front per device ({len(names)} devices)", fontsize=11)
    fig.tight_layout()
    return fig


# --- an interactive front in one HTML file -------------------------------------------------------------
_W, _H, _PAD = 640, 420, (58, 20, 20, 52)  # width, height, padding left/top/right/bottom


def _ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if math.isfinite(lo) else np.array([])
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    step *= min((m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= n), default=10)
    return np.arange(math.ceil(lo / step) * step, hi + step / 2, step)


def _svg(df, x, y, modes, status, on_front, units, hover) -> str:
    """An SVG scatter of one metric pair; each point has its trial row in ``data-row`` and a
    ``<title>`` (the browser's tooltip, no script needed)."""
    xs, ys = (pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in (x, y))
    ok = np.isfinite(xs) & np.isfinite(ys)
    (left, top, right, bottom) = _PAD
    lo = [np.min(v[ok]) if ok.any() else 0.0 for v in (xs, ys)]
    hi = [np.max(v[ok]) if ok.any() else 1.0 for v in (xs, ys)]
    span = [(h - low) or 1.0 for low, h in zip(lo, hi)]
    lo, hi = [low - 0.05 * s for low, s in zip(lo, span)], [h + 0.05 * s for h, s in zip(hi, span)]

    def px(v):
        return left + (v - lo[0]) / (hi[0] - lo[0]) * (_W - left - right)

    def py(v):
        return _H - bottom - (v - lo[1]) / (hi[1] - lo[1]) * (_H - top - bottom)

    out = [f'<svg viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
           f'aria-label="{html.escape(y)} against {html.escape(x)}">',
           f'<rect x="{left}" y="{top}" width="{_W - left - right}" height="{_H - top - bottom}" class="frame"/>']
    for t in _ticks(lo[0], hi[0]):
        out.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top}" y2="{_H - bottom}" class="grid"/>'
                   f'<text x="{px(t):.1f}" y="{_H - bottom + 14}" class="tick" text-anchor="middle">{t:.4g}</text>')
    for t in _ticks(lo[1], hi[1]):
        out.append(f'<line x1="{left}" x2="{_W - right}" y1="{py(t):.1f}" y2="{py(t):.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{py(t) + 4:.1f}" class="tick" text-anchor="end">{t:.4g}</text>')
    out.append(f'<text x="{(left + _W - right) / 2}" y="{_H - 12}" class="label" text-anchor="middle">'
               f'{html.escape(metric_label(x, modes[0], units))}</text>')
    out.append(f'<text transform="translate(14 {(top + _H - bottom) / 2}) rotate(-90)" class="label" '
               f'text-anchor="middle">{html.escape(metric_label(y, modes[1], units))}</text>')
    front = np.flatnonzero(on_front & ok)
    if front.size:
        order = front[np.argsort(xs[front] if modes[0] == "min" else -xs[front], kind="stable")]
        pts = []
        for a, b in zip(order, order[1:]):
            pts += [(xs[a], ys[a]), (xs[b], ys[a])]
        pts.append((xs[order[-1]], ys[order[-1]]))
        out.append('<polyline class="step" points="' + " ".join(f"{px(u):.1f},{py(v):.1f}" for u, v in pts) + '"/>')
    kinds = status.to_numpy()
    for i in sorted(np.flatnonzero(ok), key=lambda i: bool(on_front[i])):  # front last: drawn on top
        kind = "front" if on_front[i] else {COMPLETE: "complete", STOPPED: "stopped", FAILED: "failed"}[kinds[i]]
        tip = html.escape(hover[i])
        if kind == "failed":
            cx, cy = px(xs[i]), py(ys[i])
            out.append(f'<path class="pt failed" data-row="{i}" d="M{cx - 4:.1f},{cy - 4:.1f}l8,8m0,-8l-8,8">'
                       f'<title>{tip}</title></path>')
        else:
            r = 5 if kind == "front" else 3.5
            out.append(f'<circle class="pt {kind}" data-row="{i}" cx="{px(xs[i]):.1f}" cy="{py(ys[i]):.1f}" '
                       f'r="{r}"><title>{tip}</title></circle>')
    out.append("</svg>")
    return "\n".join(out)


def _hover(row: dict, metric: Sequence[str], kind: str, units) -> str:
    lines = [f"trial {row.get('trial_id', '?')} ({kind})"]
    lines += [f"{m}: {format_value(row[m], m, units)}" for m in metric if _finite(row.get(m))]
    for key in ("arch", "outcome", "explanation", "trial_error", "epoch"):
        if row.get(key) not in (None, "") and not (isinstance(row.get(key), float) and math.isnan(row[key])):
            lines.append(f"{key}: {row[key]}")
    return "\n".join(lines)


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _jsonable(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.2em} .frame{fill:none;stroke:#999} .grid{stroke:#eee} .tick{font-size:10px;fill:#555}
.label{font-size:12px} .step{fill:none;stroke:%(front)s;stroke-width:1.5}
.pt{cursor:pointer} .complete{fill:%(complete)s} .stopped{fill:white;stroke:%(stopped)s;stroke-width:1.3}
.front{fill:%(front)s} .failed{stroke:%(failed)s;stroke-width:1.8} .pt.hl{stroke:black;stroke-width:2.5}
.hidden{display:none} table{border-collapse:collapse;font-size:12px;margin-top:1em}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left} tr.hl td{background:#ffe9a8}
th{cursor:pointer;background:#f4f4f4} label{margin-right:1em;font-size:13px} .note{color:#666;font-size:12px}
""" % {"front": COLOURS["front"], "complete": COLOURS[COMPLETE], "stopped": COLOURS[STOPPED],
       "failed": COLOURS[FAILED]}

_SCRIPT = """
const rows = JSON.parse(document.getElementById('trials').textContent);
for (const box of document.querySelectorAll('input[data-kind]')) {
  box.addEventListener('change', () => {
    for (const el of document.querySelectorAll('.pt.' + box.dataset.kind)) el.classList.toggle('hidden', !box.checked);
  });
}
function highlight(i) {
  for (const el of document.querySelectorAll('.hl')) el.classList.remove('hl');
  for (const el of document.querySelectorAll('[data-row="' + i + '"]')) el.classList.add('hl');
  const r = rows[i];
  document.getElementById('detail').textContent = JSON.stringify(r, null, 1);
}
for (const el of document.querySelectorAll('[data-row]')) el.addEventListener('click', () => highlight(el.dataset.row));
for (const th of document.querySelectorAll('#front th')) {
  th.addEventListener('click', () => {
    const body = th.closest('table').tBodies[0], k = th.cellIndex, up = th.dataset.up !== '1';
    th.dataset.up = up ? '1' : '0';
    const num = s => (s === '' || isNaN(+s)) ? s : +s;
    [...body.rows].sort((a, b) => { const x = num(a.cells[k].textContent), y = num(b.cells[k].textContent);
      return (x > y ? 1 : x < y ? -1 : 0) * (up ? 1 : -1); }).forEach(r => body.appendChild(r));
  });
}
"""


def front_html(results, metric: Sequence[str], mode: Sequence[str], *, title: str | None = None,
               units: Mapping[str, str] | None = None, fidelity: str = "training_iteration",
               full_fidelity: float | None = None) -> str:
    """The interactive front as one HTML document (see :func:`write_front_html`)."""
    df, metric, mode, status, on_front = _prepared(results, metric, mode, fidelity, full_fidelity)
    if len(metric) < 2:
        raise InvalidConfigError(f"a Pareto plot needs two or more metrics, got {metric}")
    records = df.to_dict("records")
    kinds = ["Pareto front" if f else s for f, s in zip(on_front, status)]
    hover = [_hover(r, metric, k, units) for r, k in zip(records, kinds)]
    data = [{**{k: _jsonable(v) for k, v in r.items()}, "status": s, "pareto": bool(f)}
            for r, s, f in zip(records, status, on_front)]
    panels = [_svg(df, metric[j], metric[0], (mode[j], mode[0]), status, on_front, units, hover)
              for j in range(1, len(metric))]
    heading = title or f"Pareto front: {int(on_front.sum())} of {len(df)} trials ({_counts(status)})"
    n = status.value_counts()
    toggles = "".join(
        f'<label><input type="checkbox" data-kind="{cls}" checked> {html.escape(text)}</label>'
        for cls, text in (("front", f"Pareto front ({int(on_front.sum())})"),
                          ("complete", f"other complete ({int(n.get(COMPLETE, 0)) - int(on_front.sum())})"),
                          ("stopped", f"stopped early, hollow ({int(n.get(STOPPED, 0))})"),
                          ("failed", f"failed, crosses ({int(n.get(FAILED, 0))})")))
    columns = [c for c in ["trial_id", *metric, "arch", "epoch"] if c in df.columns]
    configs = [c for c in df.columns if isinstance(c, str) and c.startswith("config/")]
    head = "".join(f"<th>{html.escape(metric_label(c, mode[metric.index(c)], units) if c in metric else c)}</th>"
                   for c in columns + configs)
    body = []
    for i in np.flatnonzero(on_front):
        cells = "".join(f"<td>{html.escape(_cell(records[i].get(c)))}</td>" for c in columns + configs)
        body.append(f'<tr data-row="{i}">{cells}</tr>')
    # no "<", ">" or "&" inside the script element: the HTML parser must not see a tag in the data
    payload = (json.dumps(data, allow_nan=False)
               .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(heading)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(heading)}</h1>",
        '<p class="note">Hover a point for its trial, click it to see every reported value; click a column '
        "heading to sort the front. Arrows on the axes point the better way.</p>",
        f"<div>{toggles}</div>", *panels,
        f'<h2 style="font-size:1em">The Pareto front of the complete trials ({int(on_front.sum())})</h2>',
        f'<table id="front"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>',
        '<pre id="detail" class="note"></pre>',
        f'<script type="application/json" id="trials">{payload}</script>',
        f"<script>{_SCRIPT}</script>", "</body></html>",
    ])


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_front_html(results, metric: Sequence[str], mode: Sequence[str], path: str | os.PathLike, **kwargs) -> Path:
    """Write the interactive front: one self-contained HTML file (inline SVG, no network), every
    trial a point with its values as tooltip, checkboxes to hide trial kinds, a sortable table of the
    front, every trial's reported values embedded as JSON (``<script id="trials">``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(front_html(results, metric, mode, **kwargs), encoding="utf-8")
    return path


# --- everything at once --------------------------------------------------------------------------------
def write_plots(results, metric: Sequence[str], mode: Sequence[str], output_dir: str | os.PathLike, *,
                units: Mapping[str, str] | None = None, reference: Sequence[float] | None = None,
                fidelity: str = "training_iteration", full_fidelity: float | None = None) -> dict[str, Path]:
    """Write ``pareto.png``, ``hypervolume.png``, ``front.html`` and, when the results have two or
    more ``latency_ms/<device>`` columns, ``devices.png`` into ``output_dir``; return their paths
    by name. ``reference`` fixes the hypervolume's reference point (metric units)."""
    out = Path(output_dir)
    common = {"units": units, "fidelity": fidelity, "full_fidelity": full_fidelity}
    paths = {"pareto": save_figure(pareto_figure(results, metric, mode, **common), out / "pareto.png"),
             "hypervolume": save_figure(hypervolume_figure(results, metric, mode, reference=reference, **common),
                                        out / "hypervolume.png"),
             "html": write_front_html(results, metric, mode, out / "front.html", **common)}
    devices = latency_devices(results)
    quality = next((m for m in metric if not m.startswith("latency")), None)
    if len(devices) >= 2 and quality is not None:
        fig = device_fronts_figure(results, quality=quality, quality_mode=list(mode)[list(metric).index(quality)],
                                   **common)
        paths["devices"] = save_figure(fig, out / "devices.png")
    return paths


__all__ = ["pareto_figure", "hypervolume_figure", "device_fronts_figure", "front_html", "write_front_html",
           "write_plots", "save_figure", "latency_devices", "COLOURS"]
