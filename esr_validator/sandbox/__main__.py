"""``python -m esr_validator.sandbox SOCKET``: one sandbox process, driven over one channel.

The process connects to the trusted side's socket and reads a ``WorkerConfig``. In ``run``
mode it loads the model, says ``ready``, answers images one at a time (one official run),
and on ``finish`` sends its ``WorkerResult`` and exits. In ``complexity`` mode it first
answers images with a null model (the channel's own round trip, before any entry code is
imported), then loads the model, runs one forward and counts complexity.

Every outcome it can observe ends in a ``result`` frame: success, a load failure, a crash,
an out-of-memory error. Outcomes it cannot observe (a kill, a timeout) are read by the host
from the process's exit. Nothing is written to disk.
"""

from __future__ import annotations

import socket
import sys
import time
import traceback

import torch

from esr_validator.sandbox.cudashim import cpu_for_cuda
from esr_validator.sandbox.session import Session, StageError
from esr_validator.schemas import channel
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


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True
    if len(argv) != 1:
        print("usage: python -m esr_validator.sandbox SOCKET", file=sys.stderr)
        return 2
    started = time.perf_counter()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(argv[0])
    header, payload = channel.recv(sock, max_payload=channel.MAX_JSON_PAYLOAD)
    if header.kind != "config":
        return 2
    session = Session(WorkerConfig.model_validate_json(payload), sock)
    # Hard-coded .cuda() calls of the entry run on the evaluation device when it is no GPU.
    with cpu_for_cuda(session.device) as cuda_calls:
        try:
            result = session.run()
        except StageError as exc:
            cause = exc.__cause__ or exc
            result = WorkerResult(
                status="failed",
                failure=exc.failure or _failure_from(cause, exc.stage),
                environment=session.environment(),
            )
    update = {"wall_s": time.perf_counter() - started, "hardcoded_cuda": cuda_calls.calls}
    result = result.model_copy(update=update)
    try:
        channel.send(sock, "result", payload=result.model_dump_json().encode())
    except OSError:
        return 1  # the host has gone (or the channel broke): it reads the exit instead
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
