"""Small shared helpers: reproducible seeds, the course's numeric defaults, and thread pinning."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from ._checks import integer

__all__ = ["seed_everything", "threads"]


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch, make float64 the default dtype, and return a seeded generator.

    Chapters call this once in their setup cell so every printed number reproduces.
    """
    seed = integer("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_default_dtype(torch.float64)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def threads(n: int | None = 1):
    """Run the ``with`` block with ``torch.set_num_threads(n)``, restoring the previous count after.

    Small models (a few hundred weights) run faster on one thread: splitting their matrix products
    across threads costs more than it saves, and on a busy machine far more (measured: 10x slower with
    2 threads while other processes compete for the cores). ``None`` leaves the setting alone.
    Usable as a decorator too (``@threads(1)``).
    """
    if n is None:
        yield
        return
    n = integer("n", n, minimum=1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
