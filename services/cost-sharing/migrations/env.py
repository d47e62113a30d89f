from alliance_service.migrations import run_env
from cost_sharing.adapters.orm import metadata

run_env(metadata, "COST_SHARING_DATABASE_URL")
