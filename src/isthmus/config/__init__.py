"""Layer 1, configuration: the project file, core model, templates and integrations."""

from isthmus.config.documents import Document, load_document
from isthmus.config.models import (
    Connection,
    CoreField,
    Entity,
    Integration,
    Mapping,
    Owner,
    ProjectFile,
    Stream,
    Template,
)
from isthmus.config.project import Loaded, Project, load_project
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.config.secrets import Secret
from isthmus.config.sync import Sync
from isthmus.config.versions import Version, VersionRange

__all__ = [
    "Connection",
    "CoreField",
    "Document",
    "Entity",
    "Integration",
    "Loaded",
    "Mapping",
    "Owner",
    "Project",
    "ProjectFile",
    "ResolvedIntegration",
    "Secret",
    "Stream",
    "Sync",
    "Template",
    "Version",
    "VersionRange",
    "load_document",
    "load_project",
    "resolve",
]
