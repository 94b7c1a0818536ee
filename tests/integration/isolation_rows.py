"""The /isolation rows of a results file and a collector of failed checks, for the integration
scripts that check corescope isolate's matrix (isolate.sh, python_isolate.sh)."""
import h5py


def read(path):
    """(rows, compound) - every trial as a dict of its columns, and the rows of /tables/isolation."""
    with h5py.File(path, "r") as f:
        g = f["isolation"]
        n = len(g["mode"])
        assert "trial" in g, "no dimension scale"
        rows = [{k: (g[k][i].decode() if g[k].dtype.kind in "SO" else g[k][i].item()) for k in g if k != "trial"}
                for i in range(n)]
        return rows, len(f["tables/isolation"])


class Checks:
    """check(ok, mode, fault, what): ok(row) of the trial of (mode, fault), else a line in bad."""

    def __init__(self, rows, describe):
        self.cell = {(r["mode"], r["fault"]): r for r in rows}
        self.describe, self.bad = describe, []

    def __call__(self, ok, mode, fault, what):
        r = self.cell[(mode, fault)]
        if not ok(r):
            self.bad.append(f"{mode}/{fault}: {what}: {self.describe(r)}")
