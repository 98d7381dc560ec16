"""The command-line arguments of the tools (rnnbench-report, -reproduce, -sample, -eval): a parser whose
mistakes are one line, and argument types that refuse NaN, infinity and values past their caps
(README.md, "Limits") when the command line is read, before any work."""
from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn, Optional


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``<prog>: error: <message> (see <prog> --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def count(low: int, high: int):
    """An argument type: a whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number in [{low}, {high}], got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(gt: Optional[float] = None, le: Optional[float] = None):
    """An argument type: a finite number > gt and <= le."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or (gt is not None and value <= gt) or (le is not None and value > le):
            span = " and ".join(p for p in (f"> {gt:g}" if gt is not None else "", f"<= {le:g}" if le is not None else "") if p)
            raise argparse.ArgumentTypeError(f"must be a finite number {span}, got {text}")
        return value

    parse.__name__ = "number"
    return parse
