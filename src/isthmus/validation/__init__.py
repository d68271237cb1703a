"""Layer 2, validation: static checks before anything runs, and row checks while it runs."""

from isthmus.validation.integration import check_integration
from isthmus.validation.models import CompiledIntegration, CompiledMapping
from isthmus.validation.project import check_for_run, validate_project

__all__ = [
    "CompiledIntegration",
    "CompiledMapping",
    "check_for_run",
    "check_integration",
    "validate_project",
]
