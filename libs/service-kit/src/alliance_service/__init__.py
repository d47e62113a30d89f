"""Service runtime: settings, unit of work, problem+json, health, migrations, composition."""

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
