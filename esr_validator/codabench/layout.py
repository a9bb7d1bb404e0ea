"""Names shared by the bundle writer and the two programs."""

from __future__ import annotations

from pathlib import Path

APP = Path("/app")
SUBMISSION_ZIP = "submission.zip"
INTAKE_FILE = "intake.json"
WORKER_DIR = "worker"  # the sandbox's output inside the prediction output: result.json, sr/
RESULT_FILE = "result.json"  # the WorkerResult, as the sandbox sessions assembled it
MAX_RESULT_BYTES = 16 << 20
REPORT_FILE = "report.json"
SCORES_FILE = "scores.json"
DETAILS_FILE = "detailed_results.html"


def ingestion_command(ruleset: str) -> str:
    # Codabench splits the command on single spaces and runs it without a shell.
    return (
        f"python -m esr_validator.codabench.ingestion --ruleset {ruleset} "
        "/app/ingested_program /app/input_data /app/output"
    )


def scoring_command(ruleset: str) -> str:
    return f"python -m esr_validator.codabench.scoring --ruleset {ruleset} /app/input /app/output"
