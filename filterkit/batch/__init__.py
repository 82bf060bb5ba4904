"""The file-batch engine behind ``filterkit filter``: what to compute (:mod:`.spec`, ops from
:mod:`filterkit.filters.ops`), output scaling (:mod:`.scaling`), planning (:mod:`.plan`), running
on local worker processes (:mod:`.engine`, :mod:`.pool`) or a Dask cluster (:mod:`.dask_cluster`,
imported on its own: it needs ``distributed``); one image from a pipe (:mod:`.stream`).  Nothing here imports :mod:`filterkit.cli`.
"""

from filterkit.batch.engine import default_jobs, filter_array, process_file, run_local
from filterkit.batch.plan import Plan, make_plan, remove_stale_outputs
from filterkit.batch.spec import BATCH_OPS, FilterSpec, parse_op

__all__ = ["FilterSpec", "BATCH_OPS", "parse_op", "filter_array", "process_file", "run_local", "default_jobs",
           "Plan", "make_plan", "remove_stale_outputs"]
