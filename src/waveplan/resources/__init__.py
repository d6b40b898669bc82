"""Resources: what a resource key is (:mod:`.names`) and which keys overlap (:mod:`.index`)."""

from __future__ import annotations

from waveplan.resources.names import (
    ROOT_DIR,
    is_glob,
    is_named_test_resource,
    normalize_path,
    normalize_state,
    normalize_test,
)

__all__ = [
    "ROOT_DIR",
    "is_glob",
    "is_named_test_resource",
    "normalize_path",
    "normalize_state",
    "normalize_test",
]
