from alliance_service.migrations import run_env
from results_mutual_recognition.adapters.orm import metadata

run_env(metadata, "RESULTS_MUTUAL_RECOGNITION_DATABASE_URL")
