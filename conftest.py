pytest_plugins = ["alliance_testing.fixtures"]
