"""The per-claim tables of sections/ against hand-computed values on tiny inputs."""
import pandas as pd
import pytest

from corescope_analysis import stats
from corescope_analysis.sections import critical, farm, gil, ipc, isolation, one_cpu
from test_stats import _run, _study


def test_isolation_matrix_by_hand():
    iso = pd.DataFrame([
        {"mode": "threads", "fault": "crash", "workers": 4, "survivors": 0, "corrupted": 0},
        {"mode": "threads", "fault": "stray-write", "workers": 4, "survivors": 1, "corrupted": 2},
        {"mode": "threads", "fault": "stray-write", "workers": 4, "survivors": 3, "corrupted": 0},
        {"mode": "processes", "fault": "leak", "workers": 4, "survivors": 3, "corrupted": 0,
         "others_peak_rss_growth_bytes": 0},
        {"mode": "threads", "fault": "leak", "workers": 4, "survivors": 3, "corrupted": 0,
         "others_peak_rss_growth_bytes": 64 << 20},
    ])
    m = isolation.isolation_matrix(iso).set_index(["mode", "fault"])
    assert m.loc[("threads", "crash"), "unharmed_frac"] == 0
    assert m.loc[("threads", "stray-write"), "unharmed_frac"] == pytest.approx((1 / 3 + 1) / 2)
    assert m.loc[("threads", "stray-write"), "trials"] == 2
    assert m.loc[("processes", "leak"), "unharmed_frac"] == 1
    assert not m.loc[("processes", "leak"), "leak_shared"]
    assert m.loc[("threads", "leak"), "leak_shared"]
    assert isolation.isolation_matrix(None).empty


def test_critical_table_keeps_unverified_lost_updates():
    runs = pd.DataFrame([
        _run("critical", "threads", 4, 10, params='{"sync":"none"}', verified=0, lost_updates=7.0,
             ns_per_update=1.0),
        _run("critical", "threads", 4, 10, params='{"sync":"mutex"}', lost_updates=0.0, ns_per_update=30.0),
        _run("critical", "threads", 4, 10, params='{"sync":"mutex"}', status="failed", lost_updates=0.0,
             ns_per_update=99.0),
    ])
    t = critical.critical_table(runs).set_index("sync")
    assert t.loc["none", "lost_updates"] == 7 and t.loc["none", "unverified"] == 1
    assert t.loc["mutex", "ns_per_update"] == 30 and t.loc["mutex", "runs"] == 1


def test_pingpong_bandwidth_is_size_over_latency():
    summary = pd.DataFrame({"kernel": ["pingpong"] * 2, "mode": ["processes"] * 2, "channel": ["pipe"] * 2,
                            "status": ["ok"] * 2, "size": [8, 1 << 20], "latency_s": [2e-6, 1e-3]})
    t = ipc.pingpong_table(summary)
    assert t["bandwidth_bytes_per_s"].tolist() == pytest.approx([4e6, (1 << 20) / 1e-3])
    assert t["label"].iloc[0] == "processes / pipe"


def test_gil_comparison_prefers_io_release_and_common_interval():
    rows = []
    for release, interval, slope in (("io", 0.005, 0.0), ("compute", 0.005, 1.0), ("io", 0.05, 0.5)):
        for p in (1, 2, 4):
            rows.append((_run("ep", "gil", p, 10, gil_release=release, switch_interval_s=interval),
                         [1.0 / (1 + slope * (p - 1))] * 3))
    rows += [(_run("ep", "gil", 2, 10, gil_release="io", switch_interval_s=0.005, params='{"x":1}'),
              [1.0] * 3)]
    for p in (1, 2):
        rows.append((_run("iowait", "threads", p, 10), [1.0 / p] * 3))
    runs, samples = _study(rows)
    runs["switch_interval_s"] = runs["switch_interval_s"].astype(float)
    comparison = gil.gil_comparison(stats.summarize(runs, samples))
    ep = comparison[comparison["kernel"] == "ep"]
    assert set(ep["gil_release"]) == {"io"} and set(ep["switch_interval_s"]) == {0.005}
    assert ep["workers"].tolist() == [1, 2, 4] and ep["speedup"].tolist() == pytest.approx([1, 1, 1])
    io_rows = comparison[comparison["kernel"] == "iowait"]
    assert set(io_rows["bound"]) == {"I/O-bound"} and io_rows["speedup"].max() == pytest.approx(2)


def test_one_cpu_needs_pinning_or_a_one_cpu_machine():
    summary = pd.DataFrame({"status": ["ok"] * 7, "workers": [2, 2, 2, 1, 4, 4, 2],
                            "cpus_used": [1, 1, 2, 1, float("nan"), 1, 1],
                            "pin": ["cpu0", "", "cpu0", "cpu0", "one", "cores", "none"]})
    # pinned and all on one CPU; --pin one (even without cpu samples); not: unpinned, cores, 1 worker
    chosen = one_cpu.one_cpu_rows(summary)
    assert chosen["pin"].tolist() == ["cpu0", "one"] and chosen["workers"].tolist() == [2, 4]
    assert len(one_cpu.one_cpu_rows(summary, single_cpu_machine=True)) == 6  # every multi-worker row


def test_farm_schedule_reads_schedule_or_variant():
    params = ['{"alpha":"1.5","schedule":"static"}', '{"alpha":"1.5","schedule":"dynamic"}']
    assert farm.farm_schedule(params[1]) == "dynamic"
    assert farm.farm_schedule('{"variant":"static"}') == "static"


def test_farm_verdict_from_the_speedup_interval(demo_report):
    from test_report import html_of
    page = html_of(demo_report[0])
    farm = page[page.index('id="farm"'):page.index('id="one_cpu"')]
    assert 'class="verdict supported"' in farm and "lies above 1×" in farm


def test_pingpong_ticks_are_thinned():
    from corescope_analysis import plots
    sizes = [float(2 ** k) for k in range(0, 23)]
    ticks = plots._thin_ticks(sizes)
    assert len(ticks) <= 7 and ticks[0] == sizes[0] and ticks[-1] == sizes[-1]
    assert plots._thin_ticks(sizes[:4]) == sizes[:4]


def test_series_on_top_of_each_other_stay_apart():
    from corescope_analysis import plots
    import pandas as pd
    frame = pd.DataFrame({"series": [0, 1, 2], "series_label": ["threads", "gil", "openmp"],
                          "mode": ["threads", "gil", "openmp"]})
    styles = plots._style_cycle(frame)
    assert len({(marker, ls) for _, _, _, marker, ls in styles}) == 3
    shifts = plots._offsets(3)
    assert len(set(shifts)) == 3 and shifts[1] == 1.0
