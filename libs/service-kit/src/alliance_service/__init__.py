"""Service runtime: settings, unit of work, problem+json, health, migrations, composition."""

from .bounds import (
    BoundedDate,
    BoundedDatetime,
    OutOfRange,
    PastDate,
    PastDatetime,
    Period,
    abort_out_of_range,
    bounded_date,
    bounded_datetime,
    bounded_period,
    first_duplicate,
    optional_timestamp,
    timestamp_to_datetime,
    unique_by,
)
from .migrations import NotMigrated, assert_migrated, run_env, upgrade
from .problems import Problem, install_problem_handlers, not_found
from .runtime import Runtime, ServiceSpec, build_app, build_runtime
from .settings import ServiceSettings
from .uow import EventSink, UnitOfWork

__all__ = [
    "EventSink", "NotMigrated", "Problem", "Runtime", "ServiceSettings", "ServiceSpec", "UnitOfWork",
    "assert_migrated", "build_app", "build_runtime", "install_problem_handlers", "not_found", "run_env",
    "upgrade",
]
__all__ += [
    "BoundedDate", "BoundedDatetime", "OutOfRange", "PastDate", "PastDatetime", "Period", "abort_out_of_range",
    "bounded_date", "bounded_datetime", "bounded_period", "optional_timestamp", "timestamp_to_datetime",
    "first_duplicate", "unique_by",
]
