"""Which failures are outages (the database or broker unreachable) rather than a bad event or request."""

from __future__ import annotations

import errno
import socket

from aiokafka.errors import KafkaError
from sqlalchemy import exc as sa_exc

# SQLSTATEs of a server that is going away or not there yet: connection exceptions (class 08), shutting
# down, starting up (57P0x), too many connections
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "57P04", "53300")


def is_transient(exc: BaseException) -> bool:
    """Infrastructure failures (database or broker unreachable) that must never dead-letter a message."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        ConnectionError, OSError, TimeoutError, KafkaError)):
        return True
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and cause is not exc and id(cause) not in seen:
        seen.add(id(cause))
        name = type(cause).__name__
        if type(cause).__module__.startswith("asyncpg") and ("Connection" in name or "CannotConnect" in name):
            return True
        if str(getattr(cause, "sqlstate", "") or "").startswith(_OUTAGE_SQLSTATES):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def dependency_of(exc: BaseException) -> str | None:
    """'database' or 'kafka' when `exc` means that dependency is unreachable; None for any other error."""
    if not is_transient(exc) or not _connection_failure(exc):
        return None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module = type(current).__module__
        if isinstance(current, KafkaError) or module.startswith(("aiokafka", "kafka")):
            return "kafka"
        if module.startswith(("sqlalchemy", "asyncpg")):
            return "database"
        current = current.__cause__ or current.__context__
    return _dependency_from_traceback(exc)


_CONNECTION_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
                                errno.ENETUNREACH, errno.ETIMEDOUT, errno.EPIPE, errno.ENOTCONN})


def _connection_failure(exc: BaseException) -> bool:
    """A bare OSError counts only when it is about a connection (not, say, a missing file)."""
    if not isinstance(exc, OSError) or type(exc).__module__.startswith(("asyncpg", "aiokafka")):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)) or exc.errno in _CONNECTION_ERRNOS


def _dependency_from_traceback(exc: BaseException) -> str | None:
    """A bare OSError/TimeoutError: where it was raised tells which client failed (None: neither)."""
    tb = exc.__traceback__
    where = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith("aiokafka"):
            where = "kafka"
        elif module.startswith(("asyncpg", "sqlalchemy")):
            where = "database"
        tb = tb.tb_next
    return where


