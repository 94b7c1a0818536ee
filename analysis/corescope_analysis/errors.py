"""Typed exceptions of corescope_analysis.

Library code raises these; only the command line (cli.py) catches them and prints one line.
"""


class ReportError(Exception):
    """Base class: anything the report cannot do because of its input or output."""


class ResultsFileNotFound(ReportError):
    """The results file does not exist (or is not a regular file)."""


class NotHDF5File(ReportError):
    """The file exists but is not HDF5."""


class NotCorescopeFile(ReportError):
    """An HDF5 file without the root attribute schema="corescope"."""


class UnsupportedSchemaVersion(ReportError):
    """A corescope file written with a schema_version this package does not know."""


class NoRuns(ReportError):
    """A corescope file with neither /runs rows nor /isolation trials: nothing to report."""


class DamagedFile(ReportError):
    """A corescope file that cannot be read as written: truncated, corrupted, or a column the
    analysis relies on has the wrong type or length."""


class OutputError(ReportError):
    """The report directory or an export file cannot be written."""
