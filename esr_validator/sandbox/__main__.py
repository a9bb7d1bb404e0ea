"""``python -m esr_validator.sandbox CONFIG.json``: evaluate one submission on LR images.

Every outcome the worker can observe ends in a ``result.json``: success, a load failure,
a crash, an out-of-memory error. Outcomes it cannot observe (a kill, a timeout) are read
by the host from the process's exit.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

import torch

from esr_validator.sandbox.cudashim import cpu_for_cuda
from esr_validator.sandbox.envinfo import environment
from esr_validator.sandbox.run import Evaluation, StageError
from esr_validator.schemas.worker import WorkerConfig, WorkerFailure, WorkerResult


def _failure_from(exc: BaseException, where: str) -> WorkerFailure:
    tail = "".join(traceback.format_exception(exc)[-6:])[-3000:]
    oom = isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)) or (
        isinstance(exc, RuntimeError)
        and any(m in str(exc).lower() for m in ("out of memory", "can't allocate memory"))
    )
    category = "out_of_memory" if oom else ("load_failed" if where == "load" else "crashed")
    return WorkerFailure(
        category=category, message=f"{type(exc).__name__}: {exc}\n{tail}"[:4000], where=where
    )


def _write_result(out_dir: Path, result: WorkerResult) -> None:
    tmp = out_dir / "result.json.part"
    tmp.write_text(result.model_dump_json(indent=1))
    os.replace(tmp, out_dir / "result.json")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m esr_validator.sandbox CONFIG.json", file=sys.stderr)
        return 2
    config = WorkerConfig.model_validate_json(Path(argv[0]).read_text())
    out_dir = Path(config.out_dir)
    started = time.perf_counter()
    evaluation = Evaluation(config)
    # Hard-coded .cuda() calls of the entry run on the evaluation device when it is no GPU.
    with cpu_for_cuda(evaluation.device) as cuda_calls:
        try:
            result = evaluation.run()
        except StageError as exc:
            cause = exc.__cause__ or exc
            result = WorkerResult(
                status="failed",
                failure=exc.failure or _failure_from(cause, exc.stage),
                environment=environment(evaluation.device, config),
                images=evaluation.images,
            )
    update = {"wall_s": time.perf_counter() - started, "hardcoded_cuda": cuda_calls.calls}
    result = result.model_copy(update=update)
    _write_result(out_dir, result)
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
