"""Database errors as isthmus errors, classified by the driver's error code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import adbc_driver_manager as adbc
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from isthmus.connectors.errors import (
    DestinationError,
    DestinationUnavailableError,
    SchemaMismatchError,
)
from isthmus.errors import ErrorClass, TerminalError

# Error codes that mean "try again": SQLite busy/locked; PostgreSQL connection exceptions
# (class 08), serialization failures, deadlocks and an administrator's shutdown.
_SQLITE_TRANSIENT = {5, 6}
_POSTGRES_TRANSIENT_PREFIXES = ("08", "40001", "40P01", "57P01", "57P02", "57P03")
# MariaDB/MySQL error numbers. Try again: too many connections (1040), shutting down (1053),
# lock wait timeout (1205), deadlock (1213), connection killed (1927), idle timeout (4031),
# and the client's cannot connect (2002, 2003), server gone (2006), lost connection (2013, 2055).
_MYSQL_TRANSIENT = {1040, 1053, 1205, 1213, 1927, 4031, 2002, 2003, 2006, 2013, 2055}
# Access denied: to a database (1044), for a user and password (1045), a command (1142), a
# column (1143), a privilege (1227), a user without a password (1698).
_MYSQL_AUTH = {1044, 1045, 1142, 1143, 1227, 1698}
# Something the core model names is not there: a database (1049), table (1146), column (1054).
_MYSQL_MISSING = {1049, 1054, 1146}
_MYSQL_DUPLICATE_OR_NULL = {1048, 1062, 1452}
_REFUSED_HINT = (
    "an append met an existing key, or a row broke a database constraint; use write: upsert or "
    "fix the core model"
)


class DestinationAuthError(DestinationError, TerminalError):
    """The database refused the user or its privileges; retrying cannot help."""

    error_class = ErrorClass.AUTH


@contextmanager
def classified(action: str) -> Iterator[None]:
    """Turn database exceptions into isthmus errors that say whether retrying can help."""
    try:
        yield
    except IntegrityError as error:
        raise DestinationError(
            f"cannot {action}: the database refused the rows ({_first_line(error)})",
            hint=_REFUSED_HINT,
        ) from error
    except DBAPIError as error:
        code = mysql_code(error.orig)
        if code is not None and not error.connection_invalidated:
            raise mysql_error(action, code, _first_line(error)) from error
        if is_transient(error):
            raise DestinationUnavailableError(
                f"cannot {action}: {_first_line(error)}",
                hint="the database was busy or unreachable; the run can be retried",
            ) from error
        raise DestinationError(f"cannot {action}: {_first_line(error)}") from error
    except SQLAlchemyError as error:
        raise DestinationError(f"cannot {action}: {_first_line(error)}") from error
    except adbc.IntegrityError as error:
        raise DestinationError(
            f"cannot {action}: the database refused the rows ({_adbc_line(error)})",
            hint=_REFUSED_HINT,
        ) from error
    except adbc.Error as error:
        if _adbc_transient(error):
            raise DestinationUnavailableError(
                f"cannot {action}: {_adbc_line(error)}",
                hint="the database was busy or unreachable; the run can be retried",
            ) from error
        raise DestinationError(f"cannot {action}: {_adbc_line(error)}") from error
    except Exception as error:
        # PyMySQL's own errors, raised by the MariaDB driver outside SQLAlchemy; matched by
        # module so that classifying needs no import of an optional package.
        code = mysql_code(error)
        if code is None:
            raise
        raise mysql_error(action, code, _mysql_line(error)) from error


def mysql_code(error: BaseException | None) -> int | None:
    """The MariaDB/MySQL error number of a PyMySQL error; None for any other error."""
    if error is None or not type(error).__module__.startswith("pymysql"):
        return None
    code = error.args[0] if error.args else None
    return code if isinstance(code, int) else 0


def mysql_error(action: str, code: int, text: str) -> DestinationError:
    """A MariaDB error as an isthmus error, by its error number."""
    message = f"cannot {action}: {text}"
    if code in _MYSQL_TRANSIENT:
        return DestinationUnavailableError(
            message, hint="the database was busy or unreachable; the run can be retried"
        )
    if code in _MYSQL_AUTH:
        return DestinationAuthError(
            message,
            hint="check the user and password in core.database's URL, and that MariaDB "
            "grants that user access to the database from this host (SHOW GRANTS)",
        )
    if code in _MYSQL_MISSING:
        return SchemaMismatchError(
            message,
            hint="create the database, table or column the message names, or set "
            "core.manage_schema: true in isthmus.yaml",
        )
    if code in _MYSQL_DUPLICATE_OR_NULL:
        return DestinationError(
            f"cannot {action}: the database refused the rows ({text})", hint=_REFUSED_HINT
        )
    return DestinationError(message)


def _mysql_line(error: BaseException) -> str:
    # PyMySQL's args are (number, message); the message is the server's own words.
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    return f"({error.args[0]}) {text.splitlines()[0] if text else type(error).__name__}"


def _first_line(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _adbc_line(error: adbc.Error) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    # ADBC prefixes its status ("INTEGRITY: ..."); the database's own words follow.
    return text.split(": ", 1)[1] if ": " in text and text.split(": ", 1)[0].isupper() else text


def _adbc_transient(error: adbc.Error) -> bool:
    """By the status ADBC reports, the SQLSTATE (PostgreSQL) or SQLite's result code."""
    status = getattr(error, "status_code", None)
    if status in (adbc.AdbcStatusCode.IO, adbc.AdbcStatusCode.TIMEOUT):
        return True
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str) and state.startswith(_POSTGRES_TRANSIENT_PREFIXES):
        return True
    code = getattr(error, "vendor_code", None)
    return isinstance(code, int) and code & 0xFF in _SQLITE_TRANSIENT and state in (None, "")


def is_transient(error: DBAPIError) -> bool:
    """Decided by the driver's error code, never by the wording of a message."""
    if error.connection_invalidated:
        return True
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF in _SQLITE_TRANSIENT
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_POSTGRES_TRANSIENT_PREFIXES)
