"""Interleaved rounds and medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved(
    variants: dict[str, Callable[[], object]], *, rounds: int, per_round: int
) -> dict[str, float]:
    """Median seconds per call of each variant, the variants taking turns
    within every round so drift in the machine hits them all alike."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for call in variants.values():  # warm up: imports, caches, connections
        for _ in range(max(3, per_round // 10)):
            call()
    for round_number in range(rounds):
        order = list(variants.items())
        if round_number % 2:
            order.reverse()
        for name, call in order:
            start = time.perf_counter()
            for _ in range(per_round):
                call()
            samples[name].append((time.perf_counter() - start) / per_round)
    return {name: statistics.median(values) for name, values in samples.items()}


def per_call(calls: list[Callable[[], object]]) -> list[float]:
    """Seconds each call took, timed one by one."""
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out
