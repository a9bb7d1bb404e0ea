"""Which globals would unpickling a checkpoint import? Answered without unpickling anything.

A pickle can only run code through the globals it imports (``os.system``, ``builtins.eval``),
so the opcodes are walked with ``pickletools.genops`` on a shadow stack: ``GLOBAL``/``INST``
name their global directly; ``STACK_GLOBAL`` takes two strings from the stack, which may come
from the memo. When those strings cannot be determined, or an extension-registry code is used,
a placeholder name is reported, which no allowlist contains: unknown means unsafe.

``torch.serialization.get_unsafe_globals_in_checkpoint`` exists, but it reads only zip files,
raises on ``STACK_GLOBAL`` (protocol 4) and consults the process-wide ``add_safe_globals``
list; this scan covers legacy files and plain pickles too, with a fixed allowlist.
"""

from __future__ import annotations

import io
import pickletools
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # first pickle of a legacy (pre-1.6) torch.save file
LEGACY_PICKLES = 5  # magic, protocol version, sys info, the object, storage keys
MAX_PICKLE_BYTES = 256 * 1024 * 1024
MAX_EXPANSION = 4  # uncompressed/compressed; torch.save itself never compresses
UNRESOLVED = "<STACK_GLOBAL with computed operands>"

#: Typed storage classes and their element sizes in bytes.
_STORAGES = {
    "Float": 4, "Double": 8, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2,
    "Char": 1, "Byte": 1, "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16, "QInt8": 1,
    "QUInt8": 1, "QInt32": 4, "QUInt4x2": 1, "QUInt2x4": 1,
}  # fmt: skip
_ELEMENT_BYTES = {f"torch.{k}Storage": v for k, v in _STORAGES.items()}
_ELEMENT_BYTES["torch.storage.UntypedStorage"] = 1  # numel is then a byte count
_DTYPES = (
    "bfloat16", "bool", "complex128", "complex32", "complex64", "float16", "float32",
    "float64", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
    "float8_e8m0fnu", "float4_e2m1fn_x2", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "qint8", "qint32", "quint8", "quint4x2", "quint2x4",
    *(f"int{n}" for n in range(1, 8)), *(f"uint{n}" for n in range(1, 8)),
    "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
    "per_channel_symmetric", "per_channel_affine_float_qparams",
)  # fmt: skip

#: Everything a checkpoint of tensors (plus plain numbers, strings and containers) needs. A
#: subset of torch's own weights-only allowlist, so what passes here ``torch.load`` accepts.
TENSOR_GLOBALS = frozenset(
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_qtensor",
        "torch._tensor._rebuild_from_type_v2",
        "torch.Tensor",
        "torch.nn.parameter.Parameter",
        "torch.storage.UntypedStorage",
        "_codecs.encode",  # how protocol 2 spells a bytes value
        "builtins.set",
        "builtins.bytearray",
        "builtins.complex",
        *_ELEMENT_BYTES,
        *(f"torch.{d}" for d in _DTYPES),
    }
)

_CONSTANTS = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
     "BINUNICODE8", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}
)  # fmt: skip
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_TUPLES = frozenset({"EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"})
_MARK, _UNKNOWN = object(), object()
ODD_PERSISTENT_ID = "<persistent id that is not a literal storage record>"


class PickleProblem(ValueError):
    """The pickle stream is malformed, truncated or too large to inspect."""


@dataclass(frozen=True)
class _Global:
    name: str


@dataclass
class Pickle:
    """What one pickle stream would import, its value when a constant, and the bytes each
    storage (by key) declares, which torch allocates before reading them in legacy files."""

    globals: set[str] = field(default_factory=set)
    value: object = _UNKNOWN
    storage_bytes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Scan:
    kind: str  # "torch-zip", "torch-legacy", "pickle"
    globals: frozenset[str]
    torchscript: bool = False

    @property
    def unsafe(self) -> list[str]:
        return sorted(self.globals - TENSOR_GLOBALS)


def scan_pickle(stream: BinaryIO) -> Pickle:
    """Inspect the one pickle at ``stream``'s position, leaving the stream after its STOP."""
    result = Pickle()
    stack: list[object] = []
    memo: dict[object, object] = {}
    try:
        for op, arg, _ in pickletools.genops(stream):
            if op.name in _PUTS or op.name == "MEMOIZE":  # the stack is left as it is
                memo[len(memo) if arg is None else arg] = stack[-1]
                continue
            if op.name == "STOP":
                result.value = stack[-1] if stack else _UNKNOWN
                return result
            popped = _pop(stack, op)
            pushed: object = _UNKNOWN
            if op.name in ("GLOBAL", "INST", "STACK_GLOBAL"):
                pushed = _Global(_global_name(op.name, arg, popped))
                result.globals.add(pushed.name)
            elif op.name.startswith("EXT"):
                result.globals.add(f"<extension registry code {arg}>")
            elif op.name == "BINPERSID":
                _storage(popped[0], result)
            elif op.name in _TUPLES:
                pushed = tuple(popped)
            _push(stack, op, arg, memo, pushed)
    except (ValueError, IndexError, KeyError, EOFError, struct.error) as exc:
        raise PickleProblem(f"malformed pickle: {exc}") from exc
    raise PickleProblem("pickle ends without STOP")


def _global_name(opname: str, arg: object, popped: list[object]) -> str:
    if opname != "STACK_GLOBAL":
        return ".".join(str(arg).split(" ", 1))
    module, name = popped if len(popped) == 2 else (None, None)
    resolved = isinstance(module, str) and isinstance(name, str)
    return f"{module}.{name}" if resolved else UNRESOLVED


def _storage(pid: object, result: Pickle) -> None:
    """Record ('storage', type, key, location, numel[, view]) as torch writes it."""
    if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
        result.globals.add(ODD_PERSISTENT_ID)
        return
    kind, key, numel = pid[1], pid[2], pid[4]
    if not (isinstance(kind, _Global) and isinstance(key, str) and isinstance(numel, int)):
        result.globals.add(ODD_PERSISTENT_ID)
        return
    nbytes = numel * _ELEMENT_BYTES.get(kind.name, 16)
    result.storage_bytes[key] = max(nbytes, result.storage_bytes.get(key, 0))


def _pop(stack: list[object], op: pickletools.OpcodeInfo) -> list[object]:
    popped: list[object] = []
    for item in reversed(op.stack_before):
        if item is pickletools.stackslice:
            while (value := stack.pop()) is not _MARK:  # IndexError: no mark, malformed
                popped.append(value)
        elif item is pickletools.markobject:
            continue  # consumed with the slice above
        else:
            popped.append(stack.pop())
    return popped[::-1]


def _push(
    stack: list[object],
    op: pickletools.OpcodeInfo,
    arg: object,
    memo: dict[object, object],
    value: object,
) -> None:
    for item in op.stack_after:
        if item is pickletools.markobject:
            stack.append(_MARK)
        elif op.name in _GETS:
            stack.append(memo.get(arg, _UNKNOWN))
        elif op.name in _CONSTANTS:
            stack.append(arg)
        else:
            stack.append(value)


def scan_file(path: Path) -> Scan:
    """Scan a torch zip, a legacy torch file or a plain pickle; PickleProblem if none."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == b"PK\x03\x04":
        return _scan_zip(path)
    if head[:1] != b"\x80":  # PROTO: every binary pickle starts so
        raise PickleProblem("not a torch checkpoint, pickle or safetensors file")
    data = path.read_bytes()
    stream = io.BytesIO(data)
    first = scan_pickle(stream)
    if first.value != MAGIC_NUMBER:
        return Scan(kind="pickle", globals=frozenset(first.globals))
    pickles = [first, *(scan_pickle(stream) for _ in range(LEGACY_PICKLES - 1))]
    # Legacy loading allocates every storage at its declared size before reading it.
    _check_declared(pickles, available=len(data))
    return Scan(kind="torch-legacy", globals=frozenset().union(*(p.globals for p in pickles)))


def _check_declared(pickles: list[Pickle], *, available: int) -> None:
    declared: dict[str, int] = {}
    for p in pickles:
        declared.update(p.storage_bytes)
    if sum(declared.values()) > available:
        raise PickleProblem(
            f"the pickle declares {sum(declared.values())} bytes of tensor data, "
            f"but only {available} bytes hold it"
        )


def _scan_zip(path: Path) -> Scan:
    pickles: list[Pickle] = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_expansion(members, size=path.stat().st_size)
            # Every pickle in the archive, not only the data.pkl torch will pick: a second,
            # differently prefixed one must not be able to hide behind the first.
            for member in members:
                if member.filename.endswith(".pkl"):
                    with archive.open(member) as raw:
                        data = raw.read(MAX_PICKLE_BYTES + 1)
                    if len(data) > MAX_PICKLE_BYTES:
                        raise PickleProblem(f"{member.filename} is too large to inspect")
                    pickles.append(scan_pickle(io.BytesIO(data)))
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise PickleProblem(f"not a readable zip archive: {exc}") from exc
    names = [m.filename for m in members]
    if not any(n.endswith("data.pkl") for n in names):
        raise PickleProblem("zip archive without data.pkl: not written by torch.save")
    _check_declared(pickles, available=sum(m.file_size for m in members))
    torchscript = any(n.endswith("constants.pkl") or "/code/" in n for n in names)
    found = frozenset().union(*(p.globals for p in pickles))
    return Scan(kind="torch-zip", globals=found, torchscript=torchscript)


def _check_expansion(members: list[zipfile.ZipInfo], *, size: int) -> None:
    """torch.save stores records uncompressed; refuse members that inflate far beyond that."""
    expanded = sum(m.file_size for m in members)
    if expanded > MAX_EXPANSION * size + (1 << 24):
        raise PickleProblem(f"members expand to {expanded} bytes from a {size}-byte file")
