"""The filters: kernels, one border vocabulary, dtype rules, the numpy and torch APIs, blockwise (Dask)."""
