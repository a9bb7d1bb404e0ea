"""The trusted side of one sandbox process: launch it by module name, then drive its channel.

The channel is a Unix socket in a fresh folder mounted read-only into the sandbox (a socket
can be connected to on a read-only mount). The runner starts ``python -m
esr_validator.sandbox <socket>`` in a thread; this side accepts its one connection, sends the
config and then drives: one frame out, the answer back, each answer parsed as hostile. The
round trip of every image is timed here, outside the process that runs the entry.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time

from pydantic import ValidationError

from esr_validator.owner import owned_tempdir
from esr_validator.runners.base import Mount, ProcessOutcome, ProcessSpec, Runner
from esr_validator.schemas import channel
from esr_validator.schemas.channel import ChannelError, ImageMeta, MemoryMeta, OutputMeta, SplitEnd
from esr_validator.schemas.worker import WorkerConfig, WorkerResult

SANDBOX_MODULE = "esr_validator.sandbox"
_SMALL = 64 * 1024


class Driver:
    """One sandbox process. Use as a context manager; ``outcome`` is set on exit."""

    def __init__(
        self,
        runner: Runner,
        config: WorkerConfig,
        *,
        mounts: tuple[Mount, ...],
        timeout_s: float,
        gpu: int | None,
    ) -> None:
        self.runner, self.config = runner, config
        self.mounts, self.timeout_s, self.gpu = mounts, timeout_s, gpu
        self.outcome: ProcessOutcome | None = None
        self._dir = owned_tempdir("esr-chan-")
        self._conn: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- lifetime -----------------------------------------------------------------------
    def __enter__(self) -> Driver:
        self._dir.chmod(0o755)  # the sandbox user must reach the socket
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = self._dir / "s"
        listener.bind(str(path))
        path.chmod(0o777)
        listener.listen(1)
        mount = Mount(self._dir, "/chan", read_only=True)
        spec = ProcessSpec(
            role="worker",
            module=SANDBOX_MODULE,
            args=(f"{self.runner.path_in_view(mount)}/s",),
            mounts=(*self.mounts, mount),
            timeout_s=self.timeout_s,
            gpu=self.gpu,
        )
        self._thread = threading.Thread(target=self._run, args=(spec,), daemon=True)
        self._thread.start()
        try:
            self._conn = self._accept(listener)
        except ChannelError:
            # The process ended (or is ending at its own timeout) without connecting: wait
            # for its outcome, which says why (a crash at import, a timeout, a kill).
            self._thread.join()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        finally:
            listener.close()
        self._conn.settimeout(self.timeout_s + 30)
        channel.send(self._conn, "config", payload=self.config.model_dump_json().encode())
        return self

    def _run(self, spec: ProcessSpec) -> None:
        self.outcome = self.runner.run(spec)

    def _accept(self, listener: socket.socket) -> socket.socket:
        listener.settimeout(0.2)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                return listener.accept()[0]
            if self._thread is not None and not self._thread.is_alive():
                break
        raise ChannelError("the sandbox process never connected")

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.close()  # a sandbox still waiting for frames now reads EOF and exits
        if self._thread is not None:
            self._thread.join()
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- frames -------------------------------------------------------------------------
    def _recv(
        self, kind: channel.Kind, *, max_payload: int = _SMALL
    ) -> tuple[channel.Header, bytes]:
        assert self._conn is not None
        header, payload = channel.recv(self._conn, max_payload=max_payload)
        if header.kind == "result" and kind != "result":
            self._early = payload
            raise ChannelError("the sandbox ended the session early")
        if header.kind != kind:
            raise ChannelError(f"expected a {kind} frame, got {header.kind}")
        return header, payload

    def ready(self) -> None:
        self._recv("ready", max_payload=channel.MAX_JSON_PAYLOAD)

    def image(
        self, meta: ImageMeta, pixels: bytes, *, scale: int
    ) -> tuple[OutputMeta, bytes, float]:
        """Send one image; its output's description, SR bytes and the round trip in ms."""
        assert self._conn is not None
        expected = meta.height * scale * meta.width * scale * 3
        started = time.perf_counter()
        channel.send(self._conn, "image", meta, pixels)
        header, sr = self._recv("output", max_payload=expected)
        outer_ms = (time.perf_counter() - started) * 1000.0
        out = channel.meta_as(header, OutputMeta)
        if (out.split, out.index) != (meta.split, meta.index) or len(sr) not in (0, expected):
            raise ChannelError("an output frame that does not answer the image sent")
        return out, sr, outer_ms

    def split_end(self, split: str, *, reset_after: bool) -> float | None:
        assert self._conn is not None
        channel.send(self._conn, "split_end", SplitEnd(split=split, reset_after=reset_after))
        header, _ = self._recv("memory")
        memory = channel.meta_as(header, MemoryMeta)
        if memory.split != split:
            raise ChannelError("a memory frame for another split")
        return memory.peak_mb

    def finish(self) -> WorkerResult:
        assert self._conn is not None
        channel.send(self._conn, "finish")
        _, payload = self._recv("result", max_payload=channel.MAX_JSON_PAYLOAD)
        return parse_result(payload)

    def early_result(self) -> WorkerResult | None:
        """The result the sandbox sent instead of an expected frame (a failure), if any."""
        payload = getattr(self, "_early", None)
        return parse_result(payload) if payload is not None else None


def parse_result(payload: bytes) -> WorkerResult:
    try:
        return WorkerResult.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))
        raise ChannelError(
            f"an invalid result: {exc.error_count()} problem(s), first at {where}: {first['msg']}"
        ) from None
