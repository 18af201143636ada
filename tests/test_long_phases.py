"""Every long phase says it has started before its first piece of heavy work, so a user sees it at
once (not after the first network, epoch or predictor fit), and says nothing below INFO verbosity.

Each test replaces the phase's first heavy call with a spy that records what the ``raynas`` logger
had said by then."""

import logging

import numpy as np
import pandas as pd
import pytest

from raynas import logs
from raynas.spaces import NB201Space


class Said(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def said():
    handler = Said()
    root = logs.get_logger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


class Stop(Exception):
    """Raised by a spy once it has seen what it needed."""


def spy(said, seen: list):
    def heavy(*args, **kwargs):
        seen.append(list(said.messages))
        raise Stop
    return heavy


def test_warm_up_scoring_on_this_process_starts_with_a_line(said, monkeypatch):
    import raynas.proxies
    from raynas.strategies.scorers import PROGRESS_FROM, ProxyScores

    seen: list = []
    monkeypatch.setattr(raynas.proxies, "score_architectures", spy(said, seen))
    space = NB201Space(channels=4, cells_per_stage=1)
    archs = [space.sample(np.random.default_rng(i)) for i in range(PROGRESS_FROM)]
    with pytest.raises(Stop):
        ProxyScores(space, ["params"]).values(archs)
    assert any(m.startswith(f"zero-cost scores of {len(set(map(tuple, archs)))} networks") and "started" in m
               for m in seen[0])


def test_a_move_scoring_a_few_networks_stays_quiet(said):
    from raynas.strategies.scorers import ProxyScores

    space = NB201Space(channels=4, cells_per_stage=1)
    ProxyScores(space, ["params"]).values([space.sample(np.random.default_rng(0))])
    assert not said.messages


def test_hypernetwork_pipeline_speaks_before_fitting_its_predictor(said, monkeypatch, data_dir):
    from raynas.hypernet import pipeline

    seen: list = []
    monkeypatch.setattr(pipeline, "fit_meta_predictor", spy(said, seen))
    with pytest.raises(Stop):
        pipeline.train_surrogate_mode(NB201Space(), ["raspi4"], data_dir=data_dir, n_accuracy_archs=10)
    assert any("fitting the latency predictor on 1 devices' columns (raspi4)" in m for m in seen[0])


def test_proxy_table_fill_starts_with_a_line(said, monkeypatch, tmp_path):
    import raynas.proxies.compute
    import raynas.proxies.table as table

    seen: list = []
    monkeypatch.setattr(raynas.proxies.compute, "score_architectures", spy(said, seen))
    space = NB201Space(channels=4, cells_per_stage=1)
    archs = [space.sample(np.random.default_rng(i)) for i in range(3)]
    t = table.ProxyTable(space, cache_dir=tmp_path)
    with pytest.raises(Stop):
        t.get(archs, ["params"])
    assert any(m.startswith("proxies params of nb201") and "started" in m for m in seen[0])


def test_nothing_below_info(said):
    from raynas.strategies.scorers import PROGRESS_FROM, ProxyScores

    logs.get_logger().setLevel(logging.WARNING)
    space = NB201Space(channels=4, cells_per_stage=1)
    archs = [space.sample(np.random.default_rng(i)) for i in range(PROGRESS_FROM)]
    values = ProxyScores(space, ["params"]).values(archs)
    assert pd.notna(values).all() and not said.messages


def test_work_queued_while_a_loop_runs_joins_it_and_the_loop_ends_when_all_is_done(said):
    p = logs.Progress(2, "timing", unit="networks", bar=False)
    p.advance()
    p.extend(3)
    assert p.total == 5 and not p._closed
    p.advance(3)
    assert not p._closed
    p.advance()
    assert p._closed and said.messages[-1].startswith("timing: done, 5 networks")
