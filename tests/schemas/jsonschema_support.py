"""An independent JSON Schema validator: ``jsonschema`` (Draft 2020-12) with ECMA-262 patterns.

The python-jsonschema package matches ``pattern`` with Python's ``re``, whose ``$`` also
matches before a final newline; JSON Schema specifies ECMA-262 regular expressions, so
``pattern`` is checked here with ``regress`` (an ECMA-262 engine), as check-jsonschema does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import regress
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and regress.Regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = jsonschema.validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


def validator_for(schema: dict[str, Any]) -> Any:
    Draft202012Validator.check_schema(schema)
    return EcmaValidator(schema)


def schema_errors(schema: dict[str, Any], doc: Any) -> list[str]:
    return [e.message for e in validator_for(schema).iter_errors(doc)]
