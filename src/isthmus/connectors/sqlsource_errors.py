"""Errors of the SQL source, and database exceptions classified into them.

The class is decided by what the driver reports (SQLSTATE, MySQL error numbers, SQLite
result codes, whether the server asked for a password), never by a message's wording.
Messages show the URL with any password hidden and name the stream, the table or the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from isthmus.connectors.sqlerrors import is_transient
from isthmus.errors import ErrorClass, SourceError, TerminalError, TransientError

# MySQL / MariaDB error numbers (PyMySQL puts them in args[0]).
_MYSQL_AUTH = {1044, 1045, 1698}  # access denied to a database, for a user; no password
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055}  # refused, lost, deadlock
_MYSQL_CONFIG = {1049, 1054, 1064, 1146}  # unknown database or column, syntax, no table


class SqlSourceError(SourceError, TerminalError):
    """The database answered with an error that retrying will not cure."""


class SqlSourceConfigError(SqlSourceError):
    """The stream names a table, column or query the database does not have or refuses."""

    error_class = ErrorClass.CONFIG


class SqlSourceAuthError(SqlSourceError):
    """The database refused the user or the password."""

    error_class = ErrorClass.AUTH


class SqlSourceUnavailableError(SourceError, TransientError):
    """The database refused or dropped the connection, or was busy; worth retrying."""

    error_class = ErrorClass.TRANSIENT


@contextmanager
def classified_read(action: str, *, url: str, secret: str | None) -> Iterator[None]:
    """Turn the driver's exceptions inside the block into the source's errors.

    ``url`` is the connection's URL as shown (no password); ``secret`` the name of the
    password's secret, for the hint of an authentication failure.
    """
    try:
        yield
    except DBAPIError as error:
        raise _classified(error, action, url, secret) from error
    except SQLAlchemyError as error:
        raise SqlSourceError(f"cannot {action} ({url}): {first_line(error)}") from error


def _classified(error: DBAPIError, action: str, url: str, secret: str | None) -> Exception:
    message = f"cannot {action} ({url}): {first_line(error)}"
    if _is_auth(error):
        check = f"the password in secret {secret}" if secret else "the user in the url"
        return SqlSourceAuthError(
            message,
            hint=f"the database refused the credentials: check {check} and the user's grants",
        )
    if is_transient(error) or _mysql_code(error) in _MYSQL_TRANSIENT or _never_reached(error):
        return SqlSourceUnavailableError(
            message, hint="the database was busy or unreachable; the run can be retried"
        )
    if _is_config(error):
        return SqlSourceConfigError(
            message, hint="check the stream's table, db_schema, query and declared fields"
        )
    return SqlSourceError(message)


def _is_auth(error: DBAPIError) -> bool:
    state = _sqlstate(error)
    if state is not None and state.startswith("28"):  # invalid authorization specification
        return True
    if _mysql_code(error) in _MYSQL_AUTH:
        return True
    # psycopg reports no SQLSTATE for a failed connection; libpq tells whether the server
    # asked for a password (and got a wrong one, or none).
    pgconn = getattr(error.orig, "pgconn", None)
    return bool(getattr(pgconn, "used_password", False) or getattr(pgconn, "needs_password", False))


def _never_reached(error: DBAPIError) -> bool:
    """A PostgreSQL connection that failed before the server said anything: refused, reset,
    timed out. (An answer of the server carries a SQLSTATE or asked for a password.)"""
    pgconn = getattr(error.orig, "pgconn", None)
    return pgconn is not None and _sqlstate(error) is None and getattr(pgconn, "status", 0) != 0


def _is_config(error: DBAPIError) -> bool:
    state = _sqlstate(error)
    if state is not None:
        return state.startswith(("42", "3D", "3F"))  # syntax or access rule, no database/schema
    if _mysql_code(error) in _MYSQL_CONFIG:
        return True
    # SQLite: a plain SQLITE_ERROR (1) is a missing table or column or a syntax error.
    return getattr(error.orig, "sqlite_errorcode", None) == 1


def _sqlstate(error: DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) and state else None


def _mysql_code(error: DBAPIError) -> int | None:
    args: Any = getattr(error.orig, "args", ())
    is_mysql = type(error.orig).__module__.startswith(("pymysql", "MySQLdb", "mysql"))
    return args[0] if is_mysql and args and isinstance(args[0], int) else None


def first_line(error: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement and parameters."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
