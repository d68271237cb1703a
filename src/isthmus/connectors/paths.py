"""Where the file source reads: the connection's root and the files a stream's pattern matches
under it, never outside it.

A root is a folder of the project (relative), a ``file://`` URL of a folder inside the project,
or a URL of another fsspec file system (``s3://``, ``gcs://``, ...) when its package is
installed. Local roots are confined by resolving symlinks; object stores have none, so their
paths are confined by their text.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import Any, BinaryIO, cast

from isthmus.connectors.errors import UnsafePathError

LOCAL_PROTOCOLS = frozenset({"file", "local"})


@dataclass(frozen=True)
class FoundFile:
    """One file a stream reads: ``origin`` names it relative to the root (checkpoints and the
    quarantine use it), ``location`` is where the file system opens it."""

    origin: str
    location: str
    size: int
    mtime_ns: int


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


def protocol_of(root: str) -> str | None:
    """The URL scheme of a root (``s3`` of ``s3://bucket``), None for a plain folder."""
    scheme, separator, _ = root.partition("://")
    return scheme.lower() if separator else None


def check_protocol(root: str) -> str:
    """``root`` if its file system can be used here; a ValueError naming the package to
    install, or the protocol fsspec does not know, otherwise."""
    protocol = protocol_of(root)
    if protocol is None or protocol in LOCAL_PROTOCOLS:
        return root
    # Loaded only when a URL root is used; fsspec ships no type information.
    import fsspec  # type: ignore[import-untyped]  # noqa: PLC0415
    from fsspec.registry import known_implementations  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError:
        package = known_implementations[protocol]["class"].split(".")[0]
        raise ValueError(
            f"connection root {root!r} needs the Python package {package}; "
            f"install it with: pip install {package}"
        ) from None
    except ValueError:
        raise ValueError(
            f"connection root {root!r} uses {protocol}://, a file system fsspec does not know; "
            "use a folder of the project, a file:// URL, or s3://, gcs://, ... with their "
            "package installed"
        ) from None
    return root


class FileRoot:
    """The connection's root on its file system: finds a stream's files and opens them."""

    def __init__(self, filesystem: Any, base: str, *, local: bool) -> None:
        self.filesystem = filesystem
        self.base = base.rstrip("/") or "/"
        self.local = local

    @classmethod
    def at(cls, project_root: Path, setting: str) -> FileRoot:
        import fsspec  # noqa: PLC0415 - loaded only when a file source starts

        protocol = protocol_of(setting)
        if protocol is None:
            folder = confined(project_root, setting, what="connection root")
            return cls(fsspec.filesystem("file"), str(folder), local=True)
        if protocol in LOCAL_PROTOCOLS:
            folder = _local_url_folder(project_root, setting)
            return cls(fsspec.filesystem("file"), str(folder), local=True)
        filesystem, base = fsspec.core.url_to_fs(check_protocol(setting))
        return cls(filesystem, base, local=False)

    def __str__(self) -> str:
        return self.base

    def find(self, pattern: str, *, what: str) -> list[FoundFile]:
        """The files (not folders) ``pattern`` matches, each confined to the root."""
        target = self._confined_pattern(pattern, what=what)
        if self.local:
            found = [self._local(name) for name in self.filesystem.glob(target)]
        else:
            found = [
                FoundFile(self._origin(name), name, int(info.get("size") or 0), self._mtime(name))
                for name, info in self.filesystem.glob(target, detail=True).items()
                if info.get("type") == "file"
            ]
        return [f for f in found if f is not None and not _hidden(f.origin, pattern)]

    def _local(self, name: str) -> FoundFile | None:
        """A local match, unless it is not a file. It is resolved before anything else, so a
        symlink cannot lead out; os.stat rather than fsspec's info because checkpoints keep
        nanoseconds, which its float mtime loses."""
        origin = self._origin(name)
        location = str(confined(Path(self.base), origin, what="file"))
        stat = os.stat(location)
        if not S_ISREG(stat.st_mode):
            return None
        return FoundFile(origin, location, stat.st_size, stat.st_mtime_ns)

    def open(self, found: FoundFile) -> BinaryIO:
        return cast(BinaryIO, self.filesystem.open(found.location, "rb"))

    def _confined_pattern(self, pattern: str, *, what: str) -> str:
        if self.local:
            confined(Path(self.base), pattern, what=what)
            return str(Path(self.base) / pattern)
        if pattern.startswith("/"):
            raise UnsafePathError(
                f"{what} {pattern!r} is absolute; it must be relative to {self.base}",
                hint=f"write it relative to {self.base}",
            )
        normal = posixpath.normpath(pattern)
        if normal == ".." or normal.startswith("../"):
            raise UnsafePathError(
                f"{what} {pattern!r} leads outside {self.base}",
                hint=f"keep {what} inside {self.base}; '..' may not climb out of it",
            )
        return f"{self.base}/{normal}"

    def _origin(self, name: str) -> str:
        try:
            return str(PurePosixPath(name).relative_to(self.base))
        except ValueError:
            raise UnsafePathError(
                f"file {name!r} lies outside {self.base}",
                hint="keep the stream's files inside the connection's root",
            ) from None

    def _mtime(self, name: str) -> int:
        try:
            return int(self.filesystem.modified(name).timestamp() * 1_000_000_000)
        except NotImplementedError:
            return 0  # a file system without modification times: mtime mode reads by name


def _hidden(origin: str, pattern: str) -> bool:
    """Whether a wildcard matched a dot-name (an editor's lock file, a partial upload): fsspec's
    glob matches them, Python's did not, and a pattern must spell a dot-name to read it."""
    spelled = set(PurePosixPath(pattern).parts)
    return any(p.startswith(".") and p not in spelled for p in PurePosixPath(origin).parts)


def _local_url_folder(project_root: Path, setting: str) -> Path:
    """The folder of a ``file://`` root, which must lie inside the project folder."""
    path = Path(setting.partition("://")[2])
    if not path.is_absolute():
        raise UnsafePathError(
            f"connection root {setting!r} is not an absolute file:// URL",
            hint="write file:///absolute/path/to/folder, or a folder relative to the project",
        )
    project = project_root.resolve()
    folder = path.resolve()
    if folder != project and project not in folder.parents:
        raise UnsafePathError(
            f"connection root {setting!r} is outside the project folder {project}",
            hint="isthmus reads local files only inside the project folder: put them there "
            "and write the root relative to it (e.g. data/acme)",
        )
    return folder
