"""Test fixtures against real Kafka and PostgreSQL; load with `pytest_plugins = ["alliance_testing.fixtures"]`."""
