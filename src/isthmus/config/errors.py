"""Errors of the configuration layer."""

from __future__ import annotations

from isthmus.errors import NotFoundError, ProjectError, SecretError

__all__ = ["NotFoundError", "ProjectError", "ProjectNotFoundError", "SecretError"]


class ProjectNotFoundError(ProjectError):
    """The folder has no isthmus.yaml."""
