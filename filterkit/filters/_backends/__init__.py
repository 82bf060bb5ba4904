"""Speed code behind the filters' dispatch: numba and Triton kernels, each for a stated reason."""
