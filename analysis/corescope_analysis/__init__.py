"""corescope_analysis: reads corescope results files (HDF5) and writes the report.

Modules: io (file -> DataFrames, schema checks), stats (generic statistics), plots (PNG figures),
sections (one module per claim of the founding notes), report (page assembly: index.html,
summary.csv, extrap.jsonl), cli (the corescope-report command).
"""
from .errors import (DamagedFile, NoRuns, NotCorescopeFile, NotHDF5File, OutputError, ReportError,
                     ResultsFileNotFound, UnsupportedSchemaVersion)

__version__ = "0.1.0"
__all__ = ["ReportError", "ResultsFileNotFound", "NotHDF5File", "NotCorescopeFile",
           "UnsupportedSchemaVersion", "NoRuns", "DamagedFile", "OutputError", "__version__"]
