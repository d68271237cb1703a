"""Layer 5, enablement and governance: the generated documentation catalog.

``write_catalog(project, out_dir)`` writes a static HTML catalog of a project: an index,
one page per template version, per integration and per core entity.
"""

from isthmus.governance.docs import CatalogReport, build_catalog, render_catalog, write_catalog
from isthmus.governance.errors import CatalogOutputError, GovernanceError
from isthmus.governance.models import Catalog

__all__ = [
    "Catalog",
    "CatalogOutputError",
    "CatalogReport",
    "GovernanceError",
    "build_catalog",
    "render_catalog",
    "write_catalog",
]
