"""corescope's Python driver: runs kernels in real CPython threads, processes and a process pool
and streams the samples to corescope, which records them (docs/user/python.md)."""
