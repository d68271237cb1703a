"""The bundled demo: a project, its seeded sample data, and the generator behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isthmus.demo.project import DemoProject, create_demo_project

__all__ = ["DemoProject", "create_demo_project"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m isthmus.demo.generator` does not load the generator
    # twice (once through this package, once as __main__).
    if name in __all__:
        from isthmus.demo import project  # noqa: PLC0415 - lazy on purpose, see above

        return getattr(project, name)
    raise AttributeError(name)
