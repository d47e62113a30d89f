from alliance_service.migrations import run_env
from data_exchange.adapters.orm import metadata

run_env(metadata, "DATA_EXCHANGE_DATABASE_URL")
