"""How much memory the machine has, for checks that must run before anything is allocated."""
from __future__ import annotations

import os

BYTES_PER_PARAM = 4          # float32 weights
TRAINING_COPIES = 4          # weights, gradients and two optimizer moments (Adam)


def machine_memory_bytes() -> int:
    """Physical memory of this computer (0 when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return 0


def gb(nbytes: float) -> str:
    value = nbytes / 2**30
    if value >= 1e6:
        return f"{value:.1e} GB"
    return f"{value:,.0f} GB" if value >= 10 else f"{value:.2g} GB"
