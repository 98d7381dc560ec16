"""The elementwise algebra a cell's gate math is written in.

Cells call ``ops.add``, ``ops.mul``, ``ops.sigmoid``, ``ops.tanh``, ``ops.one_minus`` and
``ops.chunk`` instead of torch directly, so the same code runs on tensors (PLAIN) and on
(mean, variance) pairs (rnnbench/regularisers/moments.py: fast dropout, 002 §2.4).
"""
from __future__ import annotations

import torch


class PlainOps:
    """Ordinary tensors."""

    add = staticmethod(torch.add)
    mul = staticmethod(torch.mul)
    sigmoid = staticmethod(torch.sigmoid)
    tanh = staticmethod(torch.tanh)

    @staticmethod
    def one_minus(a):
        return 1 - a

    @staticmethod
    def chunk(a, n: int):
        return a.chunk(n, dim=-1)


PLAIN = PlainOps()
