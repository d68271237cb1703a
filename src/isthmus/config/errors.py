"""Errors of the configuration layer."""

from __future__ import annotations

from isthmus.errors import NotFoundError, ProjectError, SecretError

__all__ = [
    "NotFoundError",
    "ProjectError",
    "ProjectNotFoundError",
    "SchemaOutputError",
    "SecretError",
]


class ProjectNotFoundError(ProjectError):
    """The folder has no isthmus.yaml."""


class SchemaOutputError(ProjectError):
    """The JSON Schema files cannot be written where they were asked for."""
