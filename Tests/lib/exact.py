"""Imported by the Python test scripts: the exact figures perfmond's estimates are checked against."""
import math


def nearest_rank(values, q):
    """The nearest-rank q-quantile (0 < q ≤ 1): the smallest value with at least q of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
