"""``python -m waveplan``."""

from __future__ import annotations

import sys

from waveplan.cli import main

sys.exit(main())
