"""The "emulated GIL vs real CPython" section (sections/cpython.py): each comparison's outcome
follows its rows and the stated criterion, and flips when the rows do."""
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from corescope_analysis import stats
from corescope_analysis.page import Section
from corescope_analysis.sections import cpython
from test_stats import _run, _study

GIL = {"switch_interval_s": 0.005, "gil_release": "io", "gil_policy": "cpython"}
PY = {"switch_interval_s": 0.005, "python_gil": 1, "python_version": "3.11.2"}
PURE = '{"impl":"python"}'


METRICS = ["io_ops_per_s", "lost_updates", "updates_issued"]


def _file(rows):
    runs, samples = _study(rows)
    runs["switch_interval_s"] = runs["switch_interval_s"].astype(float)
    return runs, samples


def _summary(rows):
    runs, samples = _file(rows)
    return runs, stats.summarize(runs, samples, metrics=METRICS)


def _ep(gil2, py2, py4=None):
    """ep at 1 and 2 (and 4) threads; the 1-thread runs take 1 s every repetition."""
    rows = [(_run("ep", "gil", 1, 8000000, **GIL), [1.0] * 5), (_run("ep", "gil", 2, 8000000, **GIL), gil2),
            (_run("ep", "py-threads", 1, 40000, params=PURE, **PY), [1.0] * 5),
            (_run("ep", "py-threads", 2, 40000, params=PURE, **PY), py2)]
    if py4 is not None:
        rows += [(_run("ep", "gil", 4, 8000000, **GIL), py4),
                 (_run("ep", "py-threads", 4, 40000, params=PURE, **PY), py4)]
    return rows


def test_ep_speedups_agree_within_a_tenth():
    _, s = _summary(_ep([1.0] * 5, [1 / 1.05] * 5))
    t = cpython.ep_pairs(s).set_index("workers")
    assert t.loc[1, "outcome"] == "reference"
    assert t.loc[2, "gil"] == pytest.approx(1.0) and t.loc[2, "py"] == pytest.approx(1.05)
    assert t.loc[2, "diff"] == pytest.approx(-0.05)
    assert t.loc[2, "outcome"] == "agree"


def test_ep_speedups_differ_when_python_threads_gain():
    _, s = _summary(_ep([1.0] * 5, [1 / 1.5] * 5, py4=[0.9] * 5))
    t = cpython.ep_pairs(s).set_index("workers")
    assert t.loc[2, "diff"] == pytest.approx(-0.5) and t.loc[2, "outcome"] == "differ"
    # 4 threads, present on both sides with the same times: agree
    assert t.loc[4, "outcome"] == "agree"


def test_ep_noisy_speedup_is_inconclusive():
    _, s = _summary(_ep([1.0] * 5, [0.7, 0.8, 0.95, 1.1, 1.3]))
    row = cpython.ep_pairs(s).set_index("workers").loc[2]
    assert row["diff_lo"] < -cpython.SPEEDUP_TOLERANCE < row["diff_hi"] or \
        row["diff_lo"] < cpython.SPEEDUP_TOLERANCE < row["diff_hi"]
    assert row["outcome"] == "inconclusive"


def test_ep_ignores_numpy_and_free_threaded_runs():
    rows = _ep([1.0] * 5, [1.0] * 5)
    rows += [(_run("ep", "py-threads", 2, 40000, params='{"impl":"numpy"}', **PY), [0.5] * 5)]
    free = dict(PY, python_gil=0)
    rows += [(_run("ep", "py-threads", 1, 40001, params=PURE, **free), [1.0] * 5),
             (_run("ep", "py-threads", 2, 40001, params=PURE, **free), [0.5] * 5)]
    _, s = _summary(rows)
    assert cpython.ep_pairs(s).set_index("workers").loc[2, "py"] == pytest.approx(1.0)


def _convoy(gil_times, py_times, interval=0.005):
    return [(_run("convoy", "gil", 2, 20, **dict(GIL, switch_interval_s=interval)), gil_times),
            (_run("convoy", "py-threads", 2, 20, **dict(PY, switch_interval_s=interval)), py_times)]


def test_convoy_ratio_per_interval():
    rows = _convoy([0.1] * 5, [0.11] * 5) + _convoy([0.02] * 5, [0.05] * 5, interval=0.001)
    rows += [(_run("convoy", "gil", 2, 20, **dict(GIL, switch_interval_s=0.02)), [0.4] * 5)]  # no py pair
    _, s = _summary(rows)
    t = cpython.convoy_pairs(s).set_index("switch_interval_s")
    assert list(t.index) == [0.001, 0.005]
    assert t.loc[0.005, "gil"] == pytest.approx(200) and t.loc[0.005, "py"] == pytest.approx(20 / 0.11)
    assert t.loc[0.005, "ratio"] == pytest.approx(1.1) and t.loc[0.005, "outcome"] == "agree"
    assert t.loc[0.001, "ratio"] == pytest.approx(2.5) and t.loc[0.001, "outcome"] == "differ"


def test_sleepers_need_three_and_a_half():
    rows = [(_run("iowait", "gil", 1, 32, **GIL), [1.0] * 5), (_run("iowait", "gil", 4, 32, **GIL), [0.26] * 5),
            (_run("iowait", "py-threads", 1, 32, **PY), [1.0] * 5),
            (_run("iowait", "py-threads", 4, 32, **PY), [0.5] * 5)]
    _, s = _summary(rows)
    t = cpython.sleepers(s).set_index("mode")
    assert t.loc["gil", "speedup"] == pytest.approx(1 / 0.26) and t.loc["gil", "outcome"] == "agree"
    assert t.loc["py-threads", "speedup"] == pytest.approx(2) and t.loc["py-threads", "outcome"] == "differ"


def test_interpreter_cost_pairs_the_same_size_first():
    rows = [(_run("ep", "serial", 1, 40000), [0.001] * 5), (_run("ep", "serial", 1, 8000000), [0.2] * 5),
            (_run("ep", "py-threads", 1, 40000, params=PURE, **PY), [0.1] * 5)]
    _, s = _summary(rows)
    t = cpython.interpreter_cost(s)
    assert len(t) == 1 and bool(t["same_n"].iloc[0])
    assert t["ratio"].iloc[0] == pytest.approx(100)
    assert t["per_sample_py_s"].iloc[0] == pytest.approx(0.1 / 40000)
    # no serial run of the same size: the closest one, per sample, flagged
    _, s = _summary(rows[1:])
    t = cpython.interpreter_cost(s)
    assert not bool(t["same_n"].iloc[0]) and t["size_serial"].iloc[0] == 8000000
    assert t["ratio"].iloc[0] == pytest.approx((0.1 / 40000) / (0.2 / 8000000))


def test_lost_updates_of_sync_none_only():
    runs = pd.DataFrame([
        _run("critical", "py-processes", 2, 20011, params='{"sync":"none"}', lost_updates=500.0, updates_issued=1000.0),
        _run("critical", "py-processes", 2, 20011, params='{"sync":"none"}', lost_updates=300.0, updates_issued=1000.0),
        _run("critical", "py-threads", 2, 20011, params='{"sync":"none"}', lost_updates=0.0, updates_issued=1000.0),
        _run("critical", "py-threads", 2, 20011, params='{"sync":"mutex"}', lost_updates=0.0, updates_issued=1000.0),
        _run("critical", "threads", 2, 20011, params='{"sync":"none"}', lost_updates=9.0, updates_issued=1000.0),
    ])
    t = cpython.lost_updates(runs).set_index("mode")
    assert set(t.index) == {"py-processes", "py-threads"}
    assert t.loc["py-processes", "lost_median"] == 400 and t.loc["py-processes", "runs"] == 2
    assert t.loc["py-processes", "lost_frac"] == pytest.approx(0.4)
    assert t.loc["py-threads", "runs"] == 1


def _ctx(rows, include_disturbed=False, file=None):
    """What build() gets: the file's runs and samples (the section makes its own summary)."""
    runs, samples = file if file is not None else _file(rows)
    return SimpleNamespace(summary=None, include_disturbed=include_disturbed,
                           results=SimpleNamespace(runs=runs, samples=samples, kernel_metrics=METRICS),
                           section=lambda key, title, text, claim="", fill="": Section(key, title, text, claim=claim,
                                                                                        fill=fill))


@pytest.mark.parametrize("py2, expected", [([1 / 1.05] * 5, "supported"), ([1 / 1.5] * 5, "contradicted")])
def test_verdict_follows_the_rows(py2, expected):
    sec = cpython.build(_ctx(_ep([1.0] * 5, py2)))
    assert sec.verdict == expected
    assert any("ep (CPU-bound), 2 thread(s)" in f for f in sec.findings)


def _probed(rows, slow_gil_reps, disturbed_py_reps, disturbed_gil_reps=()):
    """ep at 1 and 2 threads with the disturbance columns: every gil sample has a probe (2x the
    fastest in slow_gil_reps of the 2-thread run), no Python sample has one; `disturbed` bit 2 in
    the listed repetitions of the 2-thread runs."""
    runs, samples = _file(rows)
    mode = runs["mode"].reindex(samples["run"]).to_numpy()
    workers = runs["workers"].reindex(samples["run"]).to_numpy()
    two = workers == 2
    gil, py = (mode == "gil"), (mode == "py-threads")
    samples["cpu_start"] = samples["worker"]
    samples["probe_s"] = [(2e-5 if g and t and rep in slow_gil_reps else 1e-5) if g else math.nan
                          for g, t, rep in zip(gil, two, samples["rep"])]
    samples["disturbed"] = [2 if t and ((p and rep in disturbed_py_reps) or (g and rep in disturbed_gil_reps)) else 0
                            for g, p, t, rep in zip(gil, py, two, samples["rep"])]
    return runs, samples


def test_both_sides_are_judged_by_the_same_rule():
    """A gil repetition on a slow CPU (probe 2x) counts in the section as it would in py-threads,
    whose samples have no probe; the record-time bits leave repetitions out on both sides."""
    rows = [(_run("ep", "gil", 1, 8000000, **GIL), [1.0] * 8),
            (_run("ep", "gil", 2, 8000000, **GIL), [0.5] * 4 + [1.0] * 4),
            (_run("ep", "py-threads", 1, 40000, params=PURE, **PY), [1.0] * 8),
            (_run("ep", "py-threads", 2, 40000, params=PURE, **PY), [0.5] * 4 + [1.0] * 4)]
    runs, samples = _probed(rows, slow_gil_reps={4, 5, 6, 7}, disturbed_py_reps={4, 5, 6, 7})
    # the report's general rule leaves the slow gil repetitions out: gil 2.0x, py-threads 2.0x
    general = stats.summarize(runs, samples, metrics=METRICS).set_index(["mode", "workers"])
    assert general.loc[("gil", 2), "median_s"] == pytest.approx(0.5)
    # the section's rule does not judge the probe, on either side: gil keeps all 8 (median 0.75),
    # py-threads still loses its 4 disturbed ones
    same = cpython.same_rule_summary(runs, samples, METRICS).set_index(["mode", "workers"])
    assert same.loc[("gil", 2), "median_s"] == pytest.approx(0.75)
    assert same.loc[("py-threads", 2), "median_s"] == pytest.approx(0.5)
    t = cpython.ep_pairs(same.reset_index()).set_index("workers")
    assert t.loc[2, "gil"] == pytest.approx(1 / 0.75) and t.loc[2, "py"] == pytest.approx(2.0)
    # the section judges by that rule (by the general one, both would be 2.0x: supported)
    assert cpython.build(_ctx(None, file=(runs, samples))).verdict == "inconclusive"
    # bits on the gil side instead: both sides lose the same repetitions and agree
    runs, samples = _probed(rows, slow_gil_reps={4, 5, 6, 7}, disturbed_py_reps={4, 5, 6, 7},
                            disturbed_gil_reps={4, 5, 6, 7})
    assert cpython.build(_ctx(None, file=(runs, samples))).verdict == "supported"
    # and --include-disturbed keeps every repetition on both sides
    same = cpython.same_rule_summary(runs, samples, METRICS, include_disturbed=True).set_index(["mode", "workers"])
    assert same.loc[("gil", 2), "median_s"] == same.loc[("py-threads", 2), "median_s"] == pytest.approx(0.75)


def test_mixed_and_no_data():
    assert cpython.build(_ctx(_ep([1.0] * 5, [1 / 1.05] * 5) + _convoy([0.02] * 5, [0.05] * 5))).verdict == "mixed"
    sec = cpython.build(_ctx([(_run("triad", "threads", 1, 100), [1.0] * 3)]))
    assert sec.verdict == "no data" and not sec.findings
    assert cpython.overall(["agree", "inconclusive"], True) == "inconclusive"
    assert cpython.overall([], True) == "measured"
    assert math.isnan(cpython.NAN_INTERVAL.point)
