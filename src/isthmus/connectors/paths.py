"""Keep configured paths inside the folder they are declared relative to."""

from __future__ import annotations

from pathlib import Path

from isthmus.connectors.errors import UnsafePathError


def confined(root: Path, relative: str, *, what: str) -> Path:
    """``root / relative``, refusing a path that leaves ``root`` (``..``, absolute, symlink)."""
    candidate = Path(relative)
    if candidate.is_absolute():
        raise UnsafePathError(
            f"{what} {relative!r} is absolute; it must be relative to {root}",
            hint=f"write it relative to {root}",
        )
    resolved_root = root.resolve()
    resolved = (root / candidate).resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UnsafePathError(
            f"{what} {relative!r} leads outside {root}",
            hint=f"keep {what} inside {root}; '..' may not climb out of it",
        )
    return resolved
