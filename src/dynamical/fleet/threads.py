"""Torch's intra-op threads for fleet training: one.

The learning process runs at the lowest priority beside the robot's executive on a small CPU;
torch's default of one thread per core made a 130-step MLP fit take 78 s instead of 6 s at load 16
(threads fighting each other and the machine's other processes for two cores).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def single_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
