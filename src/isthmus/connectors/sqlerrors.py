"""Database errors as isthmus errors, classified by the driver's error code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import adbc_driver_manager as adbc
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from isthmus.connectors.errors import DestinationError, DestinationUnavailableError

# Error codes that mean "try again": SQLite busy/locked; PostgreSQL connection exceptions
# (class 08), serialization failures, deadlocks and an administrator's shutdown.
_SQLITE_TRANSIENT = {5, 6}
_POSTGRES_TRANSIENT_PREFIXES = ("08", "40001", "40P01", "57P01", "57P02", "57P03")


@contextmanager
def classified(action: str) -> Iterator[None]:
    """Turn database exceptions into isthmus errors that say whether retrying can help."""
    try:
        yield
    except IntegrityError as error:
        raise DestinationError(
            f"cannot {action}: the database refused the rows ({_first_line(error)})",
            hint="an append met an existing key, or a row broke a database constraint; use "
            "write: upsert or fix the core model",
        ) from error
    except DBAPIError as error:
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
            hint="an append met an existing key, or a row broke a database constraint; use "
            "write: upsert or fix the core model",
        ) from error
    except adbc.Error as error:
        if _adbc_transient(error):
            raise DestinationUnavailableError(
                f"cannot {action}: {_adbc_line(error)}",
                hint="the database was busy or unreachable; the run can be retried",
            ) from error
        raise DestinationError(f"cannot {action}: {_adbc_line(error)}") from error


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
