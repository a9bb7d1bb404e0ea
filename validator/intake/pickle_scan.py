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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # first pickle of a legacy (pre-1.6) torch.save file
LEGACY_PICKLES = 5  # magic, protocol version, sys info, the object, storage keys
MAX_PICKLE_BYTES = 256 * 1024 * 1024
UNRESOLVED = "<STACK_GLOBAL with computed operands>"

_STORAGES = (
    "Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
    "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4",
)  # fmt: skip
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
        *(f"torch.{s}Storage" for s in _STORAGES),
        *(f"torch.{d}" for d in _DTYPES),
    }
)

_STRINGS = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
     "BINUNICODE8", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}
)  # fmt: skip
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MARK, _UNKNOWN = object(), object()


class PickleProblem(ValueError):
    """The pickle stream is malformed, truncated or too large to inspect."""


@dataclass(frozen=True)
class Scan:
    kind: str  # "torch-zip", "torch-legacy", "pickle"
    globals: frozenset[str]
    torchscript: bool = False

    @property
    def unsafe(self) -> list[str]:
        return sorted(self.globals - TENSOR_GLOBALS)


def scan_pickle(stream: BinaryIO) -> tuple[set[str], object]:
    """Globals of the one pickle at ``stream``'s position, and its value when a constant."""
    found: set[str] = set()
    stack: list[object] = []
    memo: dict[object, object] = {}
    try:
        for op, arg, _ in pickletools.genops(stream):
            if op.name in _PUTS or op.name == "MEMOIZE":  # the stack is left as it is
                memo[len(memo) if arg is None else arg] = stack[-1]
                continue
            if op.name == "STOP":
                return found, stack[-1] if stack else _UNKNOWN
            elif op.name in ("GLOBAL", "INST"):
                found.add(".".join(str(arg).split(" ", 1)))
            elif op.name.startswith("EXT"):
                found.add(f"<extension registry code {arg}>")
            popped = _pop(stack, op)
            if op.name == "STACK_GLOBAL":
                module, name = popped[-2:] if len(popped) == 2 else (None, None)
                resolved = isinstance(module, str) and isinstance(name, str)
                found.add(f"{module}.{name}" if resolved else UNRESOLVED)
            _push(stack, op, arg, memo)
    except (ValueError, IndexError, KeyError, EOFError, struct.error) as exc:
        raise PickleProblem(f"malformed pickle: {exc}") from exc
    raise PickleProblem("pickle ends without STOP")


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
    stack: list[object], op: pickletools.OpcodeInfo, arg: object, memo: dict[object, object]
) -> None:
    for item in op.stack_after:
        if item is pickletools.markobject:
            stack.append(_MARK)
        elif op.name in _GETS:
            stack.append(memo.get(arg, _UNKNOWN))
        elif op.name in _STRINGS:
            stack.append(arg)
        else:
            stack.append(_UNKNOWN)


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
    found, value = scan_pickle(stream)
    if value != MAGIC_NUMBER:
        return Scan(kind="pickle", globals=frozenset(found))
    for _ in range(LEGACY_PICKLES - 1):
        found |= scan_pickle(stream)[0]
    return Scan(kind="torch-legacy", globals=frozenset(found))


def _scan_zip(path: Path) -> Scan:
    found: set[str] = set()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = [m.filename for m in members]
            # Every pickle in the archive, not only the data.pkl torch will pick: a second,
            # differently prefixed one must not be able to hide behind the first.
            for member in members:
                if member.filename.endswith(".pkl"):
                    with archive.open(member) as raw:
                        data = raw.read(MAX_PICKLE_BYTES + 1)
                    if len(data) > MAX_PICKLE_BYTES:
                        raise PickleProblem(f"{member.filename} is too large to inspect")
                    found |= scan_pickle(io.BytesIO(data))[0]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise PickleProblem(f"not a readable zip archive: {exc}") from exc
    if not any(n.endswith("data.pkl") for n in names):
        raise PickleProblem("zip archive without data.pkl: not written by torch.save")
    torchscript = any(n.endswith("constants.pkl") or "/code/" in n for n in names)
    return Scan(kind="torch-zip", globals=frozenset(found), torchscript=torchscript)
