"""Small shared helpers: reproducible seeds and the course's numeric defaults."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch, make float64 the default dtype, and return a seeded generator.

    Chapters call this once in their setup cell so every printed number reproduces.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_default_dtype(torch.float64)
    return torch.Generator().manual_seed(seed)
