"""Runs across nodes: the loader reads /samples host and /runs nodes (and fills them in for files
without them), and the report splits ping-pong into intra- and inter-node and says how many nodes
a scaling cell spanned."""
import numpy as np
import pytest

from corescope_analysis import io
from fixtures import write_results
from test_real_files import report, section_text, text_of

REPS = 5


def _rows(with_hosts: bool):
    """pingpong in mpi with its 2 ranks on one node and on two, at 8 B and 1 MiB (inter-node 4x
    the latency), and ep in serial and mpi (1 rank; 2 ranks on 2 nodes)."""
    runs, samples = [], []

    def add(kernel, mode, workers, hosts, time_s, size, **metrics):
        run = len(runs)
        row = {"run_id": f"r{run}", "kernel": kernel, "mode": mode, "workers": workers, "ranks": workers,
               "threads_per_rank": 1, "size": size, "scaling": "strong", "reps": REPS, "status": "ok",
               "verified": 1, "wall_s_median": time_s, "host": hosts[0], "channel": "mpi" if mode == "mpi" else "",
               "params": "{}", **metrics}
        if with_hosts:
            row["nodes"] = len(set(hosts))
        runs.append(row)
        for rep in range(REPS):
            for worker in range(workers):
                sample = {"run": run, "rep": rep, "worker": worker, "rank": worker, "thread": 0,
                          "wall_s": time_s * (1 + 0.01 * rep), "peak_rss_bytes": 1 << 20, "cpu": worker}
                if with_hosts:
                    sample["host"] = hosts[worker]
                samples.append(sample)

    for size, one_node in ((8, 2e-6), (1 << 20, 2e-4)):
        add("pingpong", "mpi", 2, ["n1", "n1"], one_node * 2000, size, latency_s=one_node)
        add("pingpong", "mpi", 2, ["n1", "n2"], one_node * 8000, size, latency_s=one_node * 4)
    add("ep", "serial", 1, ["n1"], 1.0, 1000)
    add("ep", "mpi", 1, ["n1"], 1.0, 1000)
    add("ep", "mpi", 2, ["n1", "n2"], 0.5, 1000)
    return runs, samples


def test_loader_reads_hosts_and_nodes(tmp_path):
    runs, samples = _rows(with_hosts=True)
    r = io.load(write_results(tmp_path / "nodes.h5", runs, samples, schema_version=2))
    assert r.runs["nodes"].tolist() == [1, 2, 1, 2, 1, 1, 2]
    inter = r.samples[r.samples["run"] == 1]
    assert sorted(set(inter["host"])) == ["n1", "n2"]
    assert set(r.samples.loc[r.samples["run"] == 0, "host"]) == {"n1"}


def test_loader_fills_hosts_of_older_files(tmp_path):
    runs, samples = _rows(with_hosts=False)
    for row in runs:
        row["host"] = "oldhost"
    r = io.load(write_results(tmp_path / "old.h5", runs, samples, schema_version=2))
    assert "nodes" in r.runs and (r.runs["nodes"] == 1).all()
    assert (r.samples["host"] == "oldhost").all()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nodes")
    runs, samples = _rows(with_hosts=True)
    return report(write_results(tmp / "nodes.h5", runs, samples, schema_version=2), tmp / "rep")


def test_report_splits_pingpong_by_placement(page):
    text = text_of(section_text(page, "ipc"))
    assert "mpi / mpi, intra-node: 2 µs for 8 B" in text or "mpi / mpi, intra-node: 2.00 µs for 8 B" in text, text
    assert "mpi / mpi, inter-node (2 nodes)" in text
    # 4x the latency at 8 B, a quarter of the bandwidth at 1 MiB
    assert "between nodes vs on one node at 8 B: 4.00× the latency" in text
    assert "at 1Mi B: 0.25× the bandwidth" in text


def test_report_states_nodes_of_scaling_cells(page):
    text = text_of(section_text(page, "scaling"))
    assert "2 workers on 2 nodes" in text, text
