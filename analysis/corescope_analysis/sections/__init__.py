"""One module per claim of the founding notes, each with build(ctx) -> page.Section.

A module states its claim (CLAIM), the corescope command that records its data (FILL, with
{file} for the results file) and builds its section from whatever the file holds: figures,
numbers, tables and a verdict, or "no data" and the command. ctx is report.Context: the
Results, the summary and fits, the output directory and the figure helper.

SECTIONS is the page order. A new claim is one module here and one entry in this list.
"""
from . import cpython, critical, farm, gil, ipc, isolation, memory, one_cpu, scaling, switching

SECTIONS = [scaling.build, memory.build, ipc.build, isolation.build, gil.build, switching.build,
            cpython.build, critical.build, farm.build, one_cpu.build]
