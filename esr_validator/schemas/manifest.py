"""``submission.toml``: how to build, load and run one submission.

The manifest expresses every loading variant seen in real 2024 and 2025 entries (see
``docs/manifest.md``), so that no organizer ever edits a per-team ``select_model`` branch.
Unknown keys are rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Patterns are written in the common subset of the Rust regex engine pydantic uses and the
# ECMA-262 dialect JSON Schema specifies: explicit classes (no \d, which is Unicode-wide in
# Rust), and ``$`` meaning end of text in both.
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


def _json_integer(value: Any) -> Any:
    """A float with no fractional part is an integer, as JSON Schema counts it (``5.0``);
    a boolean is not (``Literal[1]`` alone would take ``true``, since ``True == 1``)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Strict mode refuses "5" and true for an integer (lax pydantic would coerce them, JSON Schema
# would not), so the exported schema and the model accept exactly the same documents.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# The cross-field rules of InferenceSpec as far as JSON Schema can say them: a non-zero
# tile_overlap needs a tile. "tile_overlap < tile" compares two values, which JSON Schema
# cannot; the $comment says so and the model enforces it.
_OVERLAP_NEEDS_TILE: dict[str, Any] = {
    "if": {"required": ["tile_overlap"], "properties": {"tile_overlap": {"exclusiveMinimum": 0}}},
    "then": {"required": ["tile"], "properties": {"tile": {"type": "integer"}}},
    "$comment": "tile_overlap must also be smaller than tile (checked by the validator).",
}


class CheckpointSpec(_Strict):
    """How the weights are read and put into the model."""

    key: str | None = Field(
        default=None,
        description="Key under which the state dict is nested (e.g. 'params', 'params_ema'); "
        "absent when the file is the state dict itself.",
    )
    keys: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="A fallback chain instead of one key: the first key the file holds is used "
        "(e.g. ['params_ema', 'params']).",
    )
    file_if_no_key: bool = Field(
        default=False,
        description="With keys: when the file holds none of them, the file itself is the "
        "state dict. Without it, a missing key is an error.",
    )
    strip_prefix: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Removed from the start of every state-dict key that has it (a "
        "DataParallel save: 'module.').",
    )
    strict: bool = Field(default=True, description="Passed to load_state_dict(strict=...).")
    loader_method: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="A model method that loads the weights itself, called with the checkpoint "
        "path instead of load_state_dict (2025 team 40: load_weights).",
    )
    post_load: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="Method called after loading, e.g. a re-parameterisation ('switch_deploy').",
    )
    post_load_scope: Literal["model", "submodules"] = Field(
        default="model",
        description="'model' calls post_load on the model; 'submodules' on every submodule "
        "that has the method (2025 team 17).",
    )
    warmup_forwards: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Forwards on one random input after loading, on the evaluation device, "
        "before anything is measured (part of the entry's loading, as its branch did).",
    )
    warmup_size: int = Field(
        default=256, ge=8, le=1024, description="Side of the random warm-up input (LR pixels)."
    )

    @model_validator(mode="after")
    def _one_key_form(self) -> CheckpointSpec:
        if self.key is not None and self.keys:
            raise ValueError("set key or keys, not both")
        if self.file_if_no_key and not self.keys:
            raise ValueError("file_if_no_key needs keys")
        return self

    def pick_key(self, available: object) -> str | None:
        """The key to read from a loaded checkpoint object, honouring the fallback chain."""
        if not self.keys:
            return self.key
        present = available if isinstance(available, dict) else {}
        for key in self.keys:
            if key in present:
                return key
        return None if self.file_if_no_key else self.keys[0]


class InferenceSpec(_Strict):
    """How the harness feeds images to the model."""

    model_config = ConfigDict(json_schema_extra=_OVERLAP_NEEDS_TILE)

    precision: Literal["fp32", "fp16", "bf16", "int8"] = Field(
        default="fp32",
        description="fp16/bf16: weights and input cast to that dtype. int8: the entry quantises "
        "itself; the harness casts nothing and feeds fp32 input. fp32: no dtype is passed.",
    )
    # The bounds sit inside Annotated, before the integer conversion: as Field(ge=...) on the
    # optional, pydantic 2 exports them as the non-standard keywords "ge"/"le".
    pad_multiple: Annotated[int, Field(ge=2, le=256), BeforeValidator(_json_integer)] | None = (
        Field(
            default=None,
            description="Reflect-pad the LR input to a multiple of this and crop the output back.",
        )
    )
    tile: Annotated[int, Field(ge=16, le=4096), BeforeValidator(_json_integer)] | None = Field(
        default=None, description="LR tile size."
    )
    tile_overlap: JsonInt = Field(default=0, ge=0, le=512, description="LR overlap between tiles.")

    @model_validator(mode="after")
    def _overlap_smaller_than_tile(self) -> InferenceSpec:
        if self.tile is not None and self.tile_overlap >= self.tile:
            raise ValueError("tile_overlap must be smaller than tile")
        if self.tile is None and self.tile_overlap:
            raise ValueError("tile_overlap is set but tile is not")
        return self


class Manifest(_Strict):
    """The root of ``submission.toml``."""

    schema_version: Annotated[Literal[1], BeforeValidator(_json_integer)] = 1
    team_id: JsonInt = Field(
        description="Registered team id, 0-99 (00 is the baseline).",
        json_schema_extra={"minimum": 0, "maximum": 99},
    )
    team_name: str = Field(min_length=1, max_length=100)
    model_name: str = Field(pattern=MODEL_NAME, max_length=64)
    class_name: str = Field(
        pattern=IDENTIFIER, description="Class or factory function in the model file."
    )
    module: str | None = Field(
        default=None,
        pattern=DOTTED,
        max_length=128,
        description="For a model package (models/teamNN_<Name>/ holding several .py files): "
        "the module inside it that defines class_name, dotted from the package ('HNCT' for "
        "models/team12_hnct/HNCT.py, '__init__' for the package itself). Absent for a "
        "one-file model.",
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the class or factory."
    )
    args: list[Any] = Field(
        default_factory=list, description="Positional arguments, e.g. RCN(40, 40)."
    )
    scale: JsonInt = Field(
        default=4,
        description="4 for the ESR challenges; 2 or 3 for 2023 RTSR.",
        json_schema_extra={"enum": [2, 3, 4]},
    )
    data_range: float = Field(
        description="1.0 for inputs in [0,1], 255.0 for [0,255].",
        json_schema_extra={"enum": [1.0, 255.0]},
    )
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    inference: InferenceSpec = Field(default_factory=InferenceSpec)

    @field_validator("team_id")
    @classmethod
    def _team_id(cls, v: int) -> int:
        if not 0 <= v <= 99:
            raise PydanticCustomError(
                "team-id-invalid", "team_id {value} is not in 0-99", {"value": v}
            )
        return v

    @field_validator("data_range")
    @classmethod
    def _data_range(cls, v: float) -> float:
        if v not in (1.0, 255.0):
            raise PydanticCustomError(
                "data-range-invalid", "data_range must be 1.0 or 255.0, got {value}", {"value": v}
            )
        return float(v)

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: int) -> int:
        if v not in (2, 3, 4):
            raise PydanticCustomError(
                "scale-invalid",
                "scale must be 4 (or 2/3 for real-time SR), got {value}",
                {"value": v},
            )
        return v

    @property
    def stem(self) -> str:
        """``teamNN_<ModelName>``, the stem both files are expected to share."""
        return f"team{self.team_id:02d}_{self.model_name}"


TEAM_FILE = re.compile(r"^team(?P<id>\d+)_(?P<name>[A-Za-z0-9][A-Za-z0-9_\-]*)$")
