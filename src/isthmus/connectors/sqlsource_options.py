"""Configuration of the SQL source: the integration's connection and each stream's keys.

The connection's URL names the database and the user but never holds a password: the
password is a ``${secret:NAME}`` reference (as every REST credential is), revealed only when
the engine is created and put into the URL object, never into text that can be logged.
A stream reads a ``table`` (in an optional ``db_schema``) or the rows of one ``query``.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from isthmus.connectors.rest.options import SECRET_ANYWHERE, Credential

_STARTS_AS_SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
# Words by which one statement starting with SELECT or WITH can still change something (a
# data-modifying WITH, SELECT INTO, FOR UPDATE locks) or that no read needs. They are refused
# even inside a string literal: a query that needs one there belongs in a view.
_WRITING_WORDS = re.compile(
    r"\b(insert|update|delete|merge|into|drop|alter|create|truncate|grant|revoke)\b",
    re.IGNORECASE,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqlConnection(_Model):
    """Integration-level connection of the SQL source (secrets sit beside it)."""

    url: str = Field(
        min_length=1,
        description="A SQLAlchemy URL without a password. A relative SQLite path is relative "
        "to the project folder.",
        examples=[
            "postgresql+psycopg://app@db.example/crm",
            "mysql+pymysql://app@db.example/crm",
            "sqlite:///data/crm.db",
        ],
    )
    password: Credential | None = Field(
        None,
        description="The database password as a secret reference; none when the database "
        "needs none (SQLite, trust or certificate authentication).",
    )

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url  # noqa: PLC0415 - SQLAlchemy loads lazily
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        if SECRET_ANYWHERE.search(value):
            raise ValueError("url takes no secret; put the password under password")
        try:
            url = make_url(value)
        except ArgumentError:
            # The value is not repeated: it may hold a password in a form we cannot read.
            raise ValueError(
                "url is not a SQLAlchemy URL such as postgresql+psycopg://user@host/database"
            ) from None
        if url.password is not None or any(k.lower() == "password" for k in url.query):
            raise ValueError(
                "url must not hold a password; write password: ${secret:NAME} beside it"
            )
        return value


class SqlStream(_Model):
    """Stream-level keys of the SQL source: a table, or a query."""

    table: str | None = Field(
        None,
        min_length=1,
        description="The table (or view) to read, by its exact name; quoted by the dialect.",
        examples=["contacts"],
    )
    db_schema: str | None = Field(
        None,
        min_length=1,
        description="The database schema the table is in; none: the connection's default. "
        "(Named so because a stream's schema is its declared fields.)",
        examples=["crm"],
    )
    query: str | None = Field(
        None,
        min_length=1,
        description="One SELECT whose rows are the stream; read as a subquery, so the "
        "stream's cursor filters and orders it.",
        examples=["SELECT c.id, c.email, c.updated_at FROM contacts c WHERE c.active"],
    )

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlStream:
        if (self.table is None) == (self.query is None):
            raise ValueError("a SQL stream reads either a table or a query: give exactly one")
        if self.db_schema is not None and self.table is None:
            raise ValueError("db_schema goes with table; a query names its own schemas")
        return self

    @field_validator("query")
    @classmethod
    def _single_select(cls, value: str | None) -> str | None:
        return None if value is None else single_select(value)


def single_select(query: str) -> str:
    """The query without a trailing semicolon, if it is obviously one SELECT; else ValueError.

    This catches mistakes, not attacks: the template's author writes the query, and the
    source also reads in a read-only transaction where the database offers one.
    """
    text = query.strip().removesuffix(";").rstrip()
    if not _STARTS_AS_SELECT.match(text):
        raise ValueError("query must be one SELECT (or WITH ... SELECT)")
    if ";" in text:
        raise ValueError("query must be one statement: remove the ';' inside it")
    writing = _WRITING_WORDS.search(text)
    if writing is not None:
        raise ValueError(
            f"query must only read, but it says {writing.group(1).upper()!r}; "
            "if the word is inside a string, read from a view instead"
        )
    return text
