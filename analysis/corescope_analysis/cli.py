"""The corescope-report command: the only place that catches errors and prints them."""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .errors import ReportError

PROG = "corescope-report"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Analyse a corescope results file (HDF5) and write an HTML report with plots, "
                    "summary.csv and an Extra-P JSON Lines export.")
    p.add_argument("file", metavar="FILE", help="corescope results file (.h5)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="report directory (default: FILE's name without extension + '-report', "
                        "in the current directory)")
    p.add_argument("--extrap", metavar="FILE",
                   help="also write the Extra-P JSON Lines export here (always written as DIR/extrap.jsonl)")
    p.add_argument("--cv-threshold", type=float, default=None, metavar="X",
                   help="flag cells whose coefficient of variation exceeds X (default 0.1)")
    p.add_argument("--include-disturbed", action="store_true",
                   help="keep disturbed repetitions (record-time bitmask or a slow CPU) in the statistics "
                        "(default: left out; a cell with fewer than 3 clean ones keeps all and is flagged)")
    p.add_argument("--baseline", metavar="OTHER", default=None,
                   help="a second results file (A): the report compares this file (B) with it, cell by cell "
                        "(B/A with 95%% intervals: faster / slower / no difference / inconclusive)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def default_output(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path.rstrip("/")))[0] or "corescope"
    return f"{stem}-report"


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        # Imported here so that --help works and errors print cleanly even where the
        # scientific stack is missing (e.g. a python3 that is not Debian's).
        from . import io, report, stats
        threshold = stats.CV_THRESHOLD if args.cv_threshold is None else args.cv_threshold
        if not threshold > 0:
            raise ReportError(f"--cv-threshold must be positive, not {args.cv_threshold}")
        results = io.load(args.file)
        baseline = io.load(args.baseline) if args.baseline else None
        out = report.build_report(results, args.output or default_output(args.file),
                                  cv_threshold=threshold, extrap_path=args.extrap,
                                  include_disturbed=args.include_disturbed, baseline=baseline)
    except ReportError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"{PROG}: error: {exc.name or exc} is not importable by {sys.executable}; "
              "run with /usr/bin/python3 (Debian's python3-h5py, -numpy, -pandas, -matplotlib)",
              file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"{PROG}: wrote {out.index} ({len(out.figures)} figures, {len(out.skipped)} skipped), "
              f"{out.summary_csv}, {', '.join(out.extrap)}")
    return 0
