"""A Codabench competition bundle: the worker/scorer split mapped onto Codabench's two programs.

Codabench's compute worker runs each program in the competition's Docker image with fixed
mounts (``compute_worker.py``, ``_run_program_directory``), the command from the program's
``metadata.yaml`` split on spaces (no shell), working directory ``/app/program``:

    prediction step   /app/program           the ingestion program (this package's ingestion)
                      /app/ingested_program  the participant's unzipped submission
                      /app/input_data        the task's input data: LR images only
                      /app/output            what the step leaves for scoring
    scoring step      /app/program           the scoring program
                      /app/input/ref         the task's reference data: HR (and LR)
                      /app/input/res         the prediction step's /app/output, hostile
                      /app/output            scores.json, detailed_results.html

The reference data is mounted only in the scoring step, so the submission's code never sees
ground truth. Everything the scoring step reads from ``res`` went through the prediction
container, where submission code ran: it is parsed as hostile input (bounded, schema-checked),
and the static checks are run again on the zip copied there.
"""
