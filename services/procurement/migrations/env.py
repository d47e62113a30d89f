from alliance_service.migrations import run_env
from procurement.adapters.orm import metadata

run_env(metadata, "PROCUREMENT_DATABASE_URL")
