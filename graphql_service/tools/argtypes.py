"""argparse value types shared by the `import` and `loadgen` commands."""

from __future__ import annotations

import argparse

from ..domain.events import MAX_BATCH_EVENTS


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value:g}")
    return value


def share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1, got {value:g}")
    return value


def batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_BATCH_EVENTS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_BATCH_EVENTS}, got {value}")
    return value
