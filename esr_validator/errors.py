"""Failures of the tool itself (not of the submission, which yields findings).

Each class describes itself to a person: what happened, why it matters, what to do.
Exit codes: 0 no error findings, 1 error findings, 2 and above the tool failed.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_IO = 3
EXIT_ENVIRONMENT = 4
EXIT_SIGNATURE = 5
EXIT_INTERRUPTED = 130


class ValidatorError(Exception):
    exit_code = EXIT_USAGE
    what = "esr-validator failed"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def describe(self) -> str:
        text = f"error: {self.what}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(ValidatorError):
    exit_code = EXIT_USAGE
    what = "invalid usage"


class InputError(ValidatorError):
    """A file the user named cannot be read or written."""

    exit_code = EXIT_IO
    what = "cannot read or write a file"


class EnvironmentProblem(ValidatorError):
    """The machine lacks something the run needs (Docker engine, image, GPU, data)."""

    exit_code = EXIT_ENVIRONMENT
    what = "the environment is not ready"


class SignatureError(ValidatorError):
    exit_code = EXIT_SIGNATURE
    what = "signature problem"


class RulesetError(ValidatorError):
    """A challenge ruleset is unknown or its file is malformed; the message names the file
    and the field."""

    exit_code = EXIT_USAGE
    what = "invalid ruleset"
