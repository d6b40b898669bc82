"""Benchmarks time waveplan as installed: with its modules' bytecode compiled.

``pip install`` compiles a package's bytecode; an editable install writes it on first import,
unless ``PYTHONDONTWRITEBYTECODE`` is set (as it is on some build machines), in which case
every process would compile waveplan's sources again and the timings would include that.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import waveplan


def compile_waveplan() -> None:
    """Write the bytecode of every waveplan module (a no-op when it is up to date)."""
    compileall.compile_dir(str(Path(waveplan.__file__).parent), quiet=1)
