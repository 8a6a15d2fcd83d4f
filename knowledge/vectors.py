"""Vector arithmetic tuned for one question at a time."""

from __future__ import annotations

import numpy as np


def row_dots(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` in numpy's own one-thread SIMD loop, not BLAS.

    OpenBLAS hands a matrix-vector product of more than a few dozen rows to
    its thread pool; on a busy two-core machine waking those threads cost
    1-8 ms at p95 (0.1 ms single-threaded) once the model had run. Measured
    in bench/kb_latency.py.
    """
    if hasattr(np, "vecdot"):
        dots: np.ndarray = np.vecdot(matrix, vector)
    else:  # numpy < 2
        dots = np.einsum("ij,j->i", matrix, vector)
    return dots
