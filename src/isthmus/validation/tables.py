"""Core entities as the table definitions destinations are given."""

from __future__ import annotations

from isthmus.config.models import Entity
from isthmus.connectors.base import Column, TableSpec
from isthmus.types import STRING


def table_spec(entity: Entity) -> TableSpec:
    columns = []
    if entity.tenant_key not in entity.fields:
        columns.append(Column(entity.tenant_key, STRING, nullable=False))
    for name, spec in entity.fields.items():
        required = spec.required or name in entity.primary_key or name == entity.tenant_key
        columns.append(Column(name, spec.data_type, nullable=not required))
    return TableSpec(entity.entity, tuple(columns), tuple(entity.primary_key), entity.tenant_key)
