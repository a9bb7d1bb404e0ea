"""The one channel between the trusted side and a sandbox process: framed messages.

A frame is ``>I`` header length, a JSON header (``kind`` plus that kind's fields), then
``payload`` raw bytes (uint8 pixels, or a JSON document). Both sides read frames with hard
bounds: the trusted side parses every frame the sandbox sends as hostile (the model runs in
that process and can write to the socket), so a size, a kind or a field it did not expect
ends the session with a finding, never a traceback or an unbounded read.

The trusted side drives: it sends one image, then waits for that image's output before it
sends the next, so the entry never sees an input before its timed forward.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_HEADER = 64 * 1024
MAX_JSON_PAYLOAD = 16 << 20
_LEN = struct.Struct(">I")
M = TypeVar("M", bound=BaseModel)

Kind = Literal[
    # trusted -> sandbox
    "config",  # payload: the WorkerConfig JSON
    "image",  # ImageMeta; payload: uint8 RGB HWC
    "split_end",  # SplitEnd: read the memory of the split just finished
    "finish",  # send the result and exit
    # sandbox -> trusted
    "ready",  # loaded; waiting for images
    "output",  # OutputMeta; payload: uint8 RGB HWC, or empty when the shape is wrong
    "memory",  # MemoryMeta
    "result",  # payload: a WorkerResult JSON (failures, environment, complexity)
]


class ChannelError(Exception):
    """The peer broke the protocol, went away, or sent more than the bounds allow."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Header(_Strict):
    kind: Kind
    payload: int = Field(default=0, ge=0, le=1 << 31)
    meta: dict[str, Any] = Field(default_factory=dict)


class ImageMeta(_Strict):
    split: str = Field(max_length=64)
    index: int = Field(ge=0, le=100000)
    height: int = Field(ge=1, le=20000)
    width: int = Field(ge=1, le=20000)
    repeat: bool = Field(default=False, description="A warm repeat, for the stable figure.")


class OutputMeta(_Strict):
    split: str = Field(max_length=64)
    index: int = Field(ge=0, le=100000)
    event_ms: float | None = Field(
        default=None, ge=0.0, le=3.6e6, description="The in-worker clock: CUDA events, else None."
    )
    raw_min: float | None = Field(default=None, allow_inf_nan=False)
    raw_max: float | None = Field(default=None, allow_inf_nan=False)
    nonfinite: int = Field(default=0, ge=0)
    out_channels: int = Field(ge=0, le=64)
    out_height: int = Field(ge=0, le=100000)
    out_width: int = Field(ge=0, le=100000)
    is_tensor: bool = True


class SplitEnd(_Strict):
    split: str = Field(max_length=64)
    reset_after: bool = Field(description="Reset the peak after reading it (stable reading).")


class MemoryMeta(_Strict):
    split: str = Field(max_length=64)
    peak_mb: float | None = Field(default=None, ge=0.0, le=1e7, allow_inf_nan=False)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ChannelError(f"the peer closed the channel ({got} of {n} bytes read)")
        got += k
    return bytes(buf)


def send(
    sock: socket.socket, kind: Kind, meta: BaseModel | None = None, payload: bytes = b""
) -> None:
    head: dict[str, Any] = {"kind": kind, "payload": len(payload)}
    if meta is not None:
        head["meta"] = meta.model_dump(mode="json")
    raw = json.dumps(head, separators=(",", ":")).encode()
    sock.sendall(_LEN.pack(len(raw)) + raw)
    if payload:
        sock.sendall(payload)


def recv(sock: socket.socket, *, max_payload: int) -> tuple[Header, bytes]:
    """One frame; ``max_payload`` bounds what this reader will accept for any kind."""
    (size,) = _LEN.unpack(_recv_exact(sock, _LEN.size))
    if size > MAX_HEADER:
        raise ChannelError(f"a frame header of {size} bytes (at most {MAX_HEADER})")
    try:
        header = Header.model_validate_json(_recv_exact(sock, size))
    except ValidationError as exc:
        raise ChannelError(f"a malformed frame header: {exc.errors()[0]['msg']}") from None
    if header.payload > max_payload:
        raise ChannelError(
            f"a {header.kind} frame of {header.payload} bytes (at most {max_payload})"
        )
    return header, _recv_exact(sock, header.payload) if header.payload else b""


def meta_as(header: Header, model: type[M]) -> M:
    try:
        return model.model_validate(header.meta)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))
        raise ChannelError(f"a malformed {header.kind} frame at {where}: {first['msg']}") from None
