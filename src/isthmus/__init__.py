"""isthmus: a standardized, configurable integration layer between a core product and its
customers' external systems.

The names below are the public API; everything else may change between versions. They are
imported on first use, so ``isthmus --help`` does not pay for loading the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Diagnostic": "isthmus.diagnostics",
    "Location": "isthmus.diagnostics",
    "Severity": "isthmus.diagnostics",
    "IsthmusError": "isthmus.errors",
    "ValidationFailedError": "isthmus.errors",
    "NotFoundError": "isthmus.errors",
    "Project": "isthmus.config",
    "load_project": "isthmus.config",
    "validate_project": "isthmus.validation",
    "RunReport": "isthmus.execution",
    "RunSettings": "isthmus.execution",
    "run_integration": "isthmus.execution",
    "StateStore": "isthmus.store",
    "write_catalog": "isthmus.governance",
}

__all__ = [
    "Diagnostic",
    "IsthmusError",
    "Location",
    "NotFoundError",
    "Project",
    "RunReport",
    "RunSettings",
    "Severity",
    "StateStore",
    "ValidationFailedError",
    "__version__",
    "load_project",
    "run_integration",
    "validate_project",
    "write_catalog",
]

if TYPE_CHECKING:
    from isthmus.config import Project, load_project
    from isthmus.diagnostics import Diagnostic, Location, Severity
    from isthmus.errors import IsthmusError, NotFoundError, ValidationFailedError
    from isthmus.execution import RunReport, RunSettings, run_integration
    from isthmus.governance import write_catalog
    from isthmus.store import StateStore
    from isthmus.validation import validate_project


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'isthmus' has no attribute {name!r}")
