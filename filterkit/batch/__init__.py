"""The file-batch engine behind ``filterkit filter``: op registry, planning, local pool, Dask cluster."""
