from alliance_service.migrations import run_env
from referral.adapters.orm import metadata

run_env(metadata, "REFERRAL_DATABASE_URL")
