"""Turn Airflow connections into what ingestion needs (SQLAlchemy URLs, keys)."""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import URL

from ingestion.identifiers import KEY_ENV_VAR, load_key

LA_CASE_MANAGEMENT_CONN_ID = "la_case_management"
PSEUDONYMISATION_CONN_ID = "send_pseudonymisation"
REPORTING_CONN_ID = "send_reporting"  # PostgreSQL reporting DB; publishing there is on when it exists
_DRIVERS = {"postgres": "postgresql+psycopg2", "mssql": "mssql+pyodbc", "mysql": "mysql+pymysql"}


def sqlalchemy_url(conn) -> str:
    """`extra.sqlalchemy_url` wins (SQLite, unusual drivers); otherwise built from the connection fields."""
    extra = conn.extra_dejson
    if extra.get("sqlalchemy_url"):
        return extra["sqlalchemy_url"]
    return URL.create(
        _DRIVERS.get(conn.conn_type, conn.conn_type),
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
        query={k: v for k, v in extra.items() if k not in ("area_code",)},
    ).render_as_string(hide_password=False)


def area_code(conn) -> str:
    """The LA a source database belongs to: its connection's extra `area_code` (an ONS code, E06/E08/E09/E10)."""
    code = str(conn.extra_dejson.get("area_code", "")).strip()
    if not re.fullmatch(r"E(06|07|08|09|10)\d{6}", code):
        raise ValueError(f"connection {conn.conn_id}: extra area_code must be the LA's ONS code (e.g. E10000017)")
    return code


def pseudonymisation_key() -> bytes:
    """The HMAC key: environment first, then the Airflow connection's password (secrets backend)."""
    if os.environ.get(KEY_ENV_VAR):
        return load_key()
    from airflow.sdk import BaseHook

    password = BaseHook.get_connection(PSEUDONYMISATION_CONN_ID).password or ""
    if len(password) < 32:
        raise RuntimeError(f"connection {PSEUDONYMISATION_CONN_ID} holds no usable key (>= 32 characters)")
    return password.encode()


def reporting_url() -> str | None:
    """SQLAlchemy URL of the PostgreSQL reporting database, or None when no such connection is set."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return sqlalchemy_url(BaseHook.get_connection(REPORTING_CONN_ID))
    except AirflowNotFoundException:
        return None
