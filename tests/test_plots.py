"""The pictures of a finished search hold what they claim: labelled axes with units and arrows, the
right points in the right style, the hypervolume with its box, one front per device, and an HTML
front that carries the trial data and needs no network."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from raynas.errors import InvalidConfigError
from searchers.plots import (device_fronts_figure, front_html, hypervolume_figure, pareto_figure, save_figure,
                             write_front_html, write_plots)
from searchers.results import hypervolume_history, pareto_front
from tests._frames import METRIC, MODE, results_frame


def _by_label(ax) -> dict:
    """Scatter collections of an axes by the start of their legend label."""
    return {c.get_label().split(" (")[0]: c for c in ax.collections}


def test_pareto_plot_labels_points_and_styles():
    fig = pareto_figure(results_frame(), METRIC, MODE)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "latency (ms) \u2193" and ax.get_ylabel() == "accuracy (%) \u2191"
    assert fig._suptitle.get_text() == "Pareto front: 4 of 8 trials (5 complete, 1 stopped early, 2 failed)"
    c = _by_label(ax)
    front = c["Pareto front"].get_offsets()
    assert sorted(map(tuple, np.asarray(front))) == [(1.0, 70.0), (2.0, 80.0), (2.0, 80.0), (5.0, 90.0)]
    assert np.asarray(c["other complete"].get_offsets()).tolist() == [[6.0, 85.0]]
    stopped = c["stopped early"]
    assert np.asarray(stopped.get_offsets()).tolist() == [[0.5, 99.0]]
    assert stopped.get_facecolors().size == 0 or stopped.get_facecolors()[0][3] == 0  # hollow
    assert c["failed"].get_label() == "failed (2, 2 without values)" and len(c["failed"].get_offsets()) == 0
    (step,) = ax.lines
    assert list(step.get_xdata()) == [1.0, 2.0, 2.0, 5.0]  # the staircase of the front, best latency first


def test_failed_trial_with_one_value_is_marked_at_the_edge():
    df = results_frame()
    df.loc[6, "latency_ms"] = 3.0  # latency measured, accuracy missing
    c = _by_label(pareto_figure(df, METRIC, MODE).axes[0])
    assert np.asarray(c["failed"].get_offsets()).tolist() == [[3.0, 70.0]]  # at the worst accuracy shown
    assert c["failed"].get_label() == "failed (2, 1 without values)"


def test_more_than_two_metrics_one_panel_per_pair_and_one_metric_refused():
    fig = pareto_figure(results_frame(), ["accuracy", "latency_ms", "latency_ms/raspi4"], ["max", "min", "min"])
    assert [ax.get_xlabel() for ax in fig.axes] == ["latency (ms) \u2193", "latency on raspi4 (ms) \u2193"]
    with pytest.raises(InvalidConfigError, match="two or more"):
        pareto_figure(results_frame(), ["accuracy"], ["max"])


def test_hypervolume_plot_prints_its_box_and_follows_the_history():
    df = results_frame()
    fig = hypervolume_figure(df, METRIC, MODE)
    (ax,) = fig.axes
    history, final = hypervolume_history(df, METRIC, MODE)
    (line,) = ax.lines
    assert np.allclose(line.get_ydata(), history["hypervolume"]) and list(line.get_xdata()) == list(range(1, 9))
    assert ax.get_xlabel() == "trial" and ax.get_ylabel().startswith("normalised hypervolume")
    text = " ".join(t.get_text() for t in ax.texts)
    assert "ideal:     accuracy 90 %, latency_ms 1 ms" in text
    assert "reference: accuracy 68 %, latency_ms 6.5 ms" in text
    assert f"{final.value:.3f} after 8" in ax.get_title()
    c = _by_label(ax)
    assert len(c["stopped early"].get_offsets()) == 1 and len(c["failed"].get_offsets()) == 2


def test_one_front_per_device():
    df = results_frame()
    fig = device_fronts_figure(df)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in axes] == ["latency on pixel3 (ms) \u2193", "latency on raspi4 (ms) \u2193"]
    for ax, device in zip(axes, ["pixel3", "raspi4"]):
        front = pareto_front(df, ["accuracy", f"latency_ms/{device}"], ["max", "min"])
        assert len(_by_label(ax)["Pareto front"].get_offsets()) == len(front)
        assert ax.get_title() == f"{device}: {len(front)} on the front of 8"
    # raspi4's front differs from pixel3's: t4 is slower than t1 there
    assert len(_by_label(axes[1])["Pareto front"].get_offsets()) == 3


def test_hypernet_runs_show_each_devices_own_trials():
    df = results_frame()
    df["config/target_device"] = ["pixel3", "raspi4"] * 4
    axes = [ax for ax in device_fronts_figure(df).axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["pixel3: 3 on the front of 4", "raspi4: 2 on the front of 4"]
    assert _by_label(axes[0])["other trials"].get_label() == "other trials (4)"
    with pytest.raises(InvalidConfigError, match="gpu"):
        device_fronts_figure(df, devices=["gpu"])


def test_html_front_is_self_contained_and_holds_the_trials(tmp_path):
    df = results_frame()
    path = write_front_html(df, METRIC, MODE, tmp_path / "front.html")
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing fetched from anywhere
    payload = re.search(r'<script type="application/json" id="trials">(.*?)</script>', text, re.S).group(1)
    trials = json.loads(payload)
    assert [t["trial_id"] for t in trials] == list(df["trial_id"])
    assert [t["pareto"] for t in trials] == [True, True, True, False, True, False, False, False]
    assert trials[6]["accuracy"] is None and trials[6]["outcome"] == "invalid_architecture"
    assert trials[0]["config/edge"] == "nor_conv_3x3" and trials[5]["status"] == "stopped early"
    points = re.findall(r'class="pt (\w+)" data-row="(\d+)"', text)
    assert sorted(points) == sorted([("front", "0"), ("front", "1"), ("front", "2"), ("complete", "3"),
                                     ("front", "4"), ("stopped", "5")])  # failed trials have no values
    assert "latency (ms) \u2193" in text and "accuracy (%) \u2191" in text
    assert len(re.findall(r'<tr data-row="\d+">', text)) == 4  # the front table
    assert "<title>trial t0 (Pareto front)\naccuracy: 90 %\nlatency_ms: 5 ms" in text


def test_html_escapes_what_the_results_hold():
    df = results_frame()
    df.loc[0, "arch"] = "<script>alert(1)</script>"
    text = front_html(df, METRIC, MODE)
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text  # in the tooltip and table
    payload = re.search(r'<script type="application/json" id="trials">(.*?)</script>', text, re.S).group(1)
    assert json.loads(payload)[0]["arch"] == "<script>alert(1)</script>"  # the data is intact


def test_write_plots_writes_every_picture(tmp_path):
    paths = write_plots(results_frame(), METRIC, MODE, tmp_path / "out")
    assert set(paths) == {"pareto", "hypervolume", "html", "devices"}
    for name in ("pareto", "hypervolume", "devices"):
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[name].stat().st_size > 10_000
    single = write_plots(results_frame().drop(columns=["latency_ms/raspi4"]), METRIC, MODE, tmp_path / "one")
    assert "devices" not in single
    svg = save_figure(pareto_figure(results_frame(), METRIC, MODE), tmp_path / "front.svg")
    assert "latency (ms)" in svg.read_text()
