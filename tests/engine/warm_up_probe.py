"""A worker module for ``test_warm_workers``: its ``warm_up`` leaves a marker file."""

from __future__ import annotations

import os
from pathlib import Path


def warm_up() -> None:
    Path(os.environ["WARM_UP_MARKER"]).write_text("warmed")


def main(argv: list[str]) -> int:
    return 0
