"""stats.py against hand-computed values on tiny inputs with known answers."""
import math

import numpy as np
import pandas as pd
import pytest

from corescope_analysis import stats


def test_describe_hand_computed():
    d = stats.describe([4, 1, 10, 3, 2])
    assert d["n"] == 5
    assert d["median"] == 3
    assert d["q1"] == 2 and d["q3"] == 4 and d["iqr"] == 2
    assert d["min"] == 1 and d["max"] == 10
    assert d["mean"] == 4
    assert d["std"] == pytest.approx(math.sqrt(50 / 4))
    assert d["cv"] == pytest.approx(math.sqrt(12.5) / 4)


def test_describe_ignores_nan_and_single_value_has_no_spread():
    d = stats.describe([2.0, float("nan")])
    assert d["n"] == 1 and d["median"] == 2.0
    assert math.isnan(d["std"]) and math.isnan(d["cv"])
    assert stats.describe([])["n"] == 0


def test_amdahl_fit_recovers_known_serial_fraction_exactly():
    p = np.array([1, 2, 4, 8, 16])
    t = 10.0 * (0.2 + 0.8 / p)
    fit = stats.amdahl_fit(p, t)
    assert fit.serial_fraction == pytest.approx(0.2, abs=1e-12)
    assert fit.t1 == pytest.approx(10.0, abs=1e-12)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.rms_s == pytest.approx(0.0, abs=1e-12)
    assert fit.n_points == 5
    assert fit.speedup(4) == pytest.approx(1 / (0.2 + 0.8 / 4))


def test_amdahl_fit_two_points_by_hand():
    # T = a + b/p through (1, 10) and (2, 6): b = 8, a = 2, so T1 = 10 and f = 0.2
    fit = stats.amdahl_fit([1, 2], [10.0, 6.0])
    assert (fit.t1, fit.serial_fraction) == pytest.approx((10.0, 0.2))


def test_amdahl_fit_quality_with_a_bad_point():
    # Points (1,4), (2,3), (4,1): least squares in x = 1/p gives T = a + b x with
    # x = [1, .5, .25]: mean x = 7/12, mean t = 8/3; Sxx = 0.2916.., Sxt = 0.9166..
    x = np.array([1, 0.5, 0.25])
    t = np.array([4.0, 3.0, 1.0])
    b = ((x - x.mean()) * (t - t.mean())).sum() / ((x - x.mean()) ** 2).sum()
    a = t.mean() - b * x.mean()
    res = t - (a + b * x)
    r2 = 1 - (res ** 2).sum() / ((t - t.mean()) ** 2).sum()
    fit = stats.amdahl_fit([1, 2, 4], t)
    assert fit.serial_fraction == pytest.approx(a / (a + b))
    assert fit.r2 == pytest.approx(r2)
    assert fit.r2 < 0.95
    assert fit.rms_s == pytest.approx(math.sqrt((res ** 2).mean()))


def test_amdahl_fit_needs_two_worker_counts():
    assert stats.amdahl_fit([4, 4], [1.0, 1.1]) is None


def test_karp_flatt_by_hand():
    # S = 3 on p = 4: (1/3 - 1/4) / (1 - 1/4) = 1/9
    assert stats.karp_flatt(3.0, 4) == pytest.approx(1 / 9)
    assert math.isnan(stats.karp_flatt(1.0, 1))
    # a perfectly Amdahl-shaped run has e(p) = f at every p
    f, p = 0.1, np.array([2, 4, 8])
    assert stats.karp_flatt(stats.amdahl_speedup(f, p), p) == pytest.approx([f, f, f])


def test_gustafson_fit_recovers_alpha():
    p = np.array([1, 2, 4, 8])
    alpha, rms, n = stats.gustafson_fit(p, stats.gustafson_speedup(0.1, p))
    assert alpha == pytest.approx(0.1) and rms == pytest.approx(0.0, abs=1e-12) and n == 3
    assert stats.gustafson_speedup(0.1, 4) == pytest.approx(3.7)


def test_speedup_and_efficiency_strong_and_weak():
    assert stats.speedup_and_efficiency(10.0, 4.0, 4, "strong") == pytest.approx((2.5, 0.625))
    assert stats.speedup_and_efficiency(10.0, 12.5, 4, "weak") == pytest.approx((3.2, 0.8))
    assert all(math.isnan(v) for v in stats.speedup_and_efficiency(float("nan"), 1.0, 2, "strong"))


def test_load_imbalance():
    assert stats.load_imbalance([1.0, 1.0, 2.0]) == pytest.approx(2.0 / (4.0 / 3.0))
    assert stats.load_imbalance([3.0, 3.0]) == 1.0


def _samples(rows):
    return pd.DataFrame(rows, columns=["run", "rep", "worker", "rank", "thread", "cpu", "wall_s",
                                       "compute_s", "comm_s", "gil_wait_s", "peak_rss_bytes"])


def test_rep_table_time_is_max_over_workers():
    s = _samples([
        (0, 0, 0, 0, 0, 0, 1.0, 0.9, 0.1, 0.0, 100),
        (0, 0, 1, 0, 1, 1, 0.8, 0.6, 0.2, 0.0, 100),
        (0, 1, 0, 0, 0, 0, 1.2, 1.0, 0.2, 0.0, 100),
        (0, 1, 1, 0, 1, 1, 1.1, 1.0, 0.1, 0.0, 100),
    ])
    reps = stats.rep_table(s)
    assert list(reps["time_s"]) == [1.0, 1.2]
    assert reps["imbalance"].tolist() == pytest.approx([0.9 / 0.75, 1.0])
    assert reps["compute_s"].tolist() == pytest.approx([0.75, 1.0])
    assert reps["comm_s"].tolist() == pytest.approx([0.15, 0.15])


def test_rep_table_imbalance_falls_back_to_wall_time():
    s = _samples([(0, 0, 0, 0, 0, 0, 2.0, -1, 0, 0, 1), (0, 0, 1, 0, 1, 1, 1.0, -1, 0, 0, 1)])
    assert stats.rep_table(s)["imbalance"].iloc[0] == pytest.approx(2.0 / 1.5)


def _run(kernel, mode, workers, size, scaling="strong", status="ok", verified=1, ranks=None,
         threads_per_rank=None, params="", **extra):
    per_process = mode in ("serial", "mpi", "processes")
    ranks = ranks if ranks is not None else (workers if per_process else 1)
    row = {"run_id": f"{kernel}-{mode}-{workers}-{size}", "kernel": kernel, "mode": mode,
           "workers": workers, "ranks": ranks,
           "threads_per_rank": threads_per_rank if threads_per_rank is not None else workers // ranks,
           "size": size, "size_label": "", "scaling": scaling, "channel": "",
           "switch_interval_s": math.nan, "gil_release": "", "verified": verified, "status": status,
           "error": "", "params": params, "host": "h", "pin": "", "wall_s_median": math.nan,
           "gbytes_per_s": math.nan, "gflops_per_s": math.nan}
    row.update(extra)
    return row


def _study(runs_and_times, memory=None):
    """runs_and_times: [(run dict, [per-rep times])]; every worker of a rep gets that time
    (worker 0) or 90% of it (the others)."""
    runs = pd.DataFrame([r for r, _ in runs_and_times])
    rows = []
    for i, (run, times) in enumerate(runs_and_times):
        for rep, t in enumerate(times):
            for w in range(run["workers"]):
                rank = w // run["threads_per_rank"]
                mem = memory(run, w, rank) if memory else 1000
                rows.append((i, rep, w, rank, w % run["threads_per_rank"], w, t if w == 0 else 0.9 * t,
                             0.8 * t, 0.1 * t, 0.0, mem))
    return runs, _samples(rows)


def test_summarize_speedups_efficiency_and_exclusion():
    runs, samples = _study([
        (_run("ep", "serial", 1, 100), [2.0, 2.2, 2.1]),
        (_run("ep", "threads", 1, 100), [2.0, 2.0, 2.0]),
        (_run("ep", "threads", 2, 100), [1.1, 1.0, 1.2]),
        (_run("ep", "threads", 4, 100), [0.5, 0.5, 0.5]),
        (_run("ep", "threads", 4, 100, status="failed", verified=0), [0.01, 0.01, 0.01]),
        (_run("ep", "threads", 8, 100, verified=0), [0.2, 0.2, 0.2]),
    ])
    s = stats.summarize(runs, samples).set_index(["mode", "workers"])
    assert s.loc[("serial", 1), "median_s"] == pytest.approx(2.1)
    t2 = s.loc[("threads", 2)]
    assert t2["median_s"] == pytest.approx(1.1)
    assert t2["speedup"] == pytest.approx(2.0 / 1.1)
    assert t2["efficiency"] == pytest.approx(2.0 / 1.1 / 2)
    assert t2["speedup_vs_serial"] == pytest.approx(2.1 / 1.1)
    assert t2["karp_flatt"] == pytest.approx((1.1 / 2.0 - 0.5) / 0.5)
    assert t2["iqr_s"] == pytest.approx(0.1)
    # the failed run of the same config is left out, and counted
    t4 = s.loc[("threads", 4)]
    assert t4["median_s"] == pytest.approx(0.5) and t4["speedup"] == pytest.approx(4.0)
    assert t4["n_excluded"] == 1 and "left out" in t4["flags"]
    # a config with only an unverified run is shown, but gets no speedup
    t8 = s.loc[("threads", 8)]
    assert t8["status"] == "unverified" and math.isnan(t8["speedup"])
    assert t8["median_s"] == pytest.approx(0.2)


def test_summarize_flags_noisy_cells():
    runs, samples = _study([
        (_run("ep", "threads", 1, 100), [1.0, 1.0, 1.0]),
        (_run("ep", "threads", 2, 100), [0.4, 0.5, 0.7]),
    ])
    s = stats.summarize(runs, samples, cv_threshold=0.1).set_index("workers")
    assert "noisy" in s.loc[2, "flags"]
    assert s.loc[2, "cv"] == pytest.approx(np.std([0.4, 0.5, 0.7], ddof=1) / np.mean([0.4, 0.5, 0.7]))
    assert s.loc[1, "flags"] == ""
    assert stats.summarize(runs, samples, cv_threshold=0.5).set_index("workers").loc[2, "flags"] == ""


def test_weak_scaling_uses_size_per_worker():
    runs, samples = _study([
        (_run("ep", "serial", 1, 100), [1.0] * 3),
        (_run("ep", "threads", 1, 100, scaling="weak"), [1.0] * 3),
        (_run("ep", "threads", 2, 200, scaling="weak"), [1.25] * 3),
        (_run("ep", "threads", 4, 400, scaling="weak"), [1.6] * 3),
        (_run("ep", "threads", 4, 100), [0.3] * 3),  # strong, different series
    ])
    s = stats.summarize(runs, samples)
    weak = s[s["scaling"] == "weak"].set_index("workers")
    assert weak.loc[2, "efficiency"] == pytest.approx(0.8)
    assert weak.loc[2, "speedup"] == pytest.approx(1.6)        # scaled: p * T1/Tp
    assert weak.loc[4, "speedup_vs_serial"] == pytest.approx(4 / 1.6)
    assert weak["series"].nunique() == 1
    strong4 = s[(s["scaling"] == "strong") & (s["workers"] == 4)].iloc[0]
    # no strong-labelled 1-worker run of size 100: the weak-labelled one is the same experiment
    assert strong4["speedup"] == pytest.approx(1.0 / 0.3)
    fits = stats.scaling_fits(s)
    alpha = fits[fits["scaling"] == "weak"]["gustafson_alpha"].iloc[0]
    expected, _, _ = stats.gustafson_fit([2, 4], [1.6, 2.5])
    assert alpha == pytest.approx(expected)


def test_scaling_fits_amdahl_from_summary():
    runs, samples = _study([(_run("triad", "threads", p, 1000), [stats.amdahl_time(4.0, 0.25, p)] * 3)
                            for p in (1, 2, 4, 8)])
    s = stats.summarize(runs, samples)
    fits = stats.scaling_fits(s)
    assert len(fits) == 1
    assert fits["serial_fraction"].iloc[0] == pytest.approx(0.25)
    assert fits["t1_fit_s"].iloc[0] == pytest.approx(4.0)
    assert fits["workers_max"].iloc[0] == 8
    merged = stats.with_fits(s, fits)
    assert merged["serial_fraction"].tolist() == pytest.approx([0.25] * 4)


def test_settings_separate_series_and_params_match_serial():
    runs, samples = _study([
        (_run("critical", "serial", 1, 10, params='{"sync":"none"}'), [1.0] * 3),
        (_run("critical", "threads", 2, 10, params='{"sync":"none"}'), [0.8] * 3),
        (_run("critical", "threads", 2, 10, params='{"sync":"mutex"}'), [3.0] * 3),
    ])
    s = stats.summarize(runs, samples).set_index(["mode", "params"])
    assert s.loc[("threads", '{"sync":"none"}'), "speedup_vs_serial"] == pytest.approx(1.25)
    assert math.isnan(s.loc[("threads", '{"sync":"mutex"}'), "speedup_vs_serial"])
    assert s.loc[("threads", '{"sync":"mutex"}'), "series_label"] == "threads sync=mutex"


def test_memory_footprint_per_process():
    def memory(run, worker, rank):
        return {"threads": 100, "processes": 60, "hybrid": 80}[run["mode"]]
    runs, samples = _study([
        (_run("triad", "threads", 2, 10), [1.0]),
        (_run("triad", "processes", 2, 10), [1.0]),
        (_run("triad", "hybrid", 4, 10, ranks=2, threads_per_rank=2), [1.0]),
    ], memory=memory)
    table = stats.run_table(runs, samples)
    # one process shared by two threads; two processes; two ranks of two threads each
    assert table["footprint_bytes"].tolist() == [100, 120, 160]
    assert table["per_worker_bytes"].tolist() == [50, 60, 40]
    runs["footprint_pss_bytes"] = [float("nan"), 90.0, float("nan")]
    assert stats.run_table(runs, samples)["footprint_bytes"].tolist() == [100, 90, 160]


def test_memory_uses_pss_only_where_every_process_has_it():
    runs, samples = _study([(_run("triad", "processes", 2, 10), [1.0, 1.0])], memory=lambda r, w, k: 60)
    samples["pss_bytes"] = -1
    samples.loc[(samples["worker"] == 0) & (samples["rep"] == 1), "pss_bytes"] = 40
    # worker 1 has no PSS: peak RSS of both processes (60 + 60), not 40 alone
    table = stats.run_table(runs, samples)
    assert table["footprint_bytes"].tolist() == [120]
    assert table["memory_source"].tolist() == ["peak_rss_bytes"]
    samples.loc[(samples["worker"] == 1) & (samples["rep"] == 0), "pss_bytes"] = 45
    table = stats.run_table(runs, samples)
    assert table["footprint_bytes"].tolist() == [85]
    assert table["memory_source"].tolist() == ["pss_bytes"]


def test_format_count_and_params_label():
    assert [stats.format_count(v) for v in (8, 1024, 65536, 1 << 20, 8_000_000, 1.5)] == \
        ["8", "1Ki", "64Ki", "1Mi", "8M", "1.5"]
    assert stats.params_label('{"sync":"none","x":1}') == "sync=none, x=1"
    assert stats.param_value('{"variant":"static"}', "variant") == "static"
    assert stats.param_value("not json", "variant") == ""


def test_labels_name_only_the_params_that_vary():
    params = ['{"alpha":"1.5","schedule":"static"}', '{"alpha":"1.5","schedule":"dynamic"}']
    runs, samples = _study([(_run("farm", "threads", p, 10, params=q), [1.0 / p] * 3)
                            for q in params for p in (1, 2)])
    s = stats.summarize(runs, samples)
    assert set(s["series_label"]) == {"threads schedule=static", "threads schedule=dynamic"}


def test_per_rank_memory_keeps_threads_per_rank_apart():
    """Ranks of threads (memory model per-rank, whatever the mode is called): 2 ranks x 1 thread
    and 1 rank x 2 threads are different series, named by their threads per rank."""
    for mode in ("hybrid", "ranks-of-fibers"):
        runs, samples = _study([
            (_run("triad", mode, 1, 10, ranks=1, threads_per_rank=1, memory_model="per-rank"), [1.0] * 3),
            (_run("triad", mode, 2, 10, ranks=2, threads_per_rank=1, memory_model="per-rank"), [0.6] * 3),
            (_run("triad", mode, 2, 10, ranks=1, threads_per_rank=2, memory_model="per-rank"), [0.5] * 3),
        ])
        s = stats.summarize(runs, samples).set_index(["workers", "threads_per_rank"])
        assert s.loc[(2, 1), "series"] != s.loc[(2, 2), "series"]
        assert s.loc[(2, 2), "series_label"] == f"{mode} 2 thr/rank"
        assert s.loc[(2, 1), "series_label"] == f"{mode} 1 thr/rank"
    runs, samples = _study([(_run("triad", "threads", p, 10, memory_model="shared"), [1.0 / p] * 3)
                            for p in (1, 2)])
    assert set(stats.summarize(runs, samples)["series_label"]) == {"threads"}
