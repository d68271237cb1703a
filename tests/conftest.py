"""Fixtures shared by every tier of the suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from isthmus.demo import DemoProject, create_demo_project
from support import service_unavailable, write_jsonl

POSTGRES_ADMIN_URL = os.environ.get(
    "ISTHMUS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
MARIADB_SERVER_URL = os.environ.get("ISTHMUS_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")


@pytest.fixture
def demo(tmp_path: Path) -> DemoProject:
    """A fresh copy of the bundled demo project with its generated data."""
    return create_demo_project(tmp_path / "demo")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    name = f"isthmus_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        service_unavailable(
            "PostgreSQL on 127.0.0.1:5432",
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + f"/{name}"
        )
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A new, empty MariaDB database for one test, dropped afterwards."""
    pymysql = pytest.importorskip("pymysql")
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - only this fixture needs it

    server = make_url(MARIADB_SERVER_URL)
    login = {
        "host": server.host or "127.0.0.1",
        "port": server.port or 3306,
        "user": server.username or "root",
        "password": server.password or "",
        "connect_timeout": 5,
        "autocommit": True,
    }
    name = f"isthmus_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = pymysql.connect(**login)
    except pymysql.err.OperationalError:
        service_unavailable(
            "MariaDB on 127.0.0.1:3306",
            "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
        )
    with admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with pymysql.connect(**login) as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


TINY_FILES = {
    "isthmus.yaml": """
project: tiny
core: {database: "sqlite:///.isthmus/core.db"}
state: {database: "sqlite:///.isthmus/state.db"}
""",
    "core/person.yaml": """
entity: person
tenant_key: tenant_id
primary_key: [tenant_id, person_id]
fields:
  person_id: {type: string, required: true}
  name: {type: string, required: true}
  age: {type: integer, min: 0, max: 150}
  team_id: {type: string, references: team.team_id}
""",
    "core/team.yaml": """
entity: team
tenant_key: tenant_id
primary_key: [tenant_id, team_id]
fields:
  team_id: {type: string, required: true}
  title: {type: string, required: true}
""",
    "templates/people.yaml": """
template: people
version: 1.0.0
description: People and their teams from JSON Lines files.
owner: {team: core, contact: core@example.com}
source: {connector: file}
streams:
  people:
    path: people.jsonl
    primary_key: id
    schema: {id: string, name: string, age: string, team: string}
  teams: {path: teams.jsonl, primary_key: id, schema: {id: string, title: string}}
mappings:
  people:
    stream: people
    entity: person
    write: upsert
    fields: {person_id: id, name: trim(name), age: to_int(age), team_id: team}
  teams:
    stream: teams
    entity: team
    fields: {team_id: id, title: title}
sync: {max_rejected_fraction: 0.5, batch_size: 2}
""",
    "integrations/a.yaml": """
integration: a-people
tenant: a
template: people@^1
owner: {team: ops, contact: ops@example.com}
connection: {root: data/a}
""",
    "integrations/b.yaml": """
integration: b-people
tenant: b
template: people@^1
owner: {team: ops, contact: ops@example.com}
connection: {root: data/b}
""",
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A two-tenant project of people and teams (people reference teams), with data."""
    root = tmp_path / "tiny"
    for name, text in TINY_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.lstrip(), encoding="utf-8")
    for tenant in ("a", "b"):
        write_jsonl(
            root / f"data/{tenant}/teams.jsonl",
            [{"id": "t1", "title": f"{tenant} one"}, {"id": "t2", "title": f"{tenant} two"}],
        )
        write_jsonl(
            root / f"data/{tenant}/people.jsonl",
            [
                {"id": "p1", "name": f" {tenant} Ann ", "age": "31", "team": "t1"},
                {"id": "p2", "name": f"{tenant} Bob", "age": 45, "team": "t2"},
                {"id": "p3", "name": f"{tenant} Cy", "age": None, "team": None},
            ],
        )
    return root
