"""h5py.File(path, "r") for the integration tests, tried again while HDF5 refuses it for a lock.

A finisher that a kill left writing the results file holds the file's lock for milliseconds,
and HDF5 refuses to open a file locked so ("unable to lock file"); every other error is raised
at once (docs/user/results-format.md, "Appends are crash-safe").
"""
import time

import h5py


def open_read(path, tries=100, wait_s=0.05):
    for attempt in range(tries):
        try:
            return h5py.File(path, "r")
        except OSError as e:
            if "lock" not in str(e) or attempt == tries - 1:
                raise
            time.sleep(wait_s)
    raise AssertionError("unreachable")
