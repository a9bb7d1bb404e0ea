"""Organizer waivers: a finding the organizers accepted for one team stays reported but fails
nothing, and the signed report says who waived it and why.

The file is TOML, one table per waiver::

    [[waiver]]
    team = 7
    code = "ESR405"
    reason = "the custom CUDA kernel was reviewed by the organizers (issue #12)"
    expires = 2026-06-30

A waiver applies to every finding of that team with that code until the end of ``expires``
(UTC). After that it no longer applies, and the run says so with a ``waiver-expired``
warning next to the finding, so that a stale waiver is seen, not silently kept.

Waivers are applied to intake's findings before the runnability decision (a waived intake
error lets the entry be evaluated, in the sandbox) and to every finding of the report.

The entry writes its own manifest, so an entry could claim another team's id to borrow its
waivers. A waiver therefore applies only when every name the validator has for the team
agrees: the manifest's ``team_id``, the ``teamNN`` of the zip's name (which the organizers
control in a batch), and the ``teamNN_`` file names (a ``team-id-mismatch`` finding turns
every waiver off). ``pr`` takes the team from the repository path the files sit under.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from esr_validator.codes import CATALOG, finding
from esr_validator.errors import UsageError
from esr_validator.schemas.findings import Finding, Waived

_TEAM_IN_ZIP = re.compile(r"^team(\d{1,2})(?:_|\.|$)", re.IGNORECASE)


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    team: int = Field(ge=0, le=99, description="The team id, as in submission.toml.")
    code: str = Field(pattern=r"^ESR[0-9]{3}$")
    reason: str = Field(min_length=1, max_length=500)
    expires: date = Field(description="Last day (UTC) the waiver applies.")


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waiver: tuple[Waiver, ...] = ()


class Waivers(BaseModel):
    """A loaded waivers file: its waivers and its digest (recorded in each waived finding)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    waivers: tuple[Waiver, ...]


def load_waivers(path: str | Path) -> Waivers:
    """Read and validate a waivers file; a bad file is a usage error that says what is wrong."""
    where = Path(path)
    try:
        raw = where.read_bytes()
        doc = tomllib.loads(raw.decode("utf-8"))
        parsed = WaiverFile.model_validate(doc)
    except OSError as exc:
        raise UsageError(f"--waivers {where}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"--waivers {where}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"--waivers {where}: {at}: {first['msg']}",
            hint="each [[waiver]] needs team (0-99), code (ESRnnn), reason and expires (a date)",
        ) from None
    unknown = sorted({w.code for w in parsed.waiver} - set(CATALOG))
    if unknown:
        raise UsageError(f"--waivers {where}: unknown finding code {unknown[0]}")
    return Waivers(sha256=hashlib.sha256(raw).hexdigest(), waivers=parsed.waiver)


def team_of(*, manifest_team: int | None, zip_name: str) -> int | None:
    """The team a submission's waivers are looked up for; None (no waiver applies) when its
    manifest and its zip's ``teamNN`` name disagree."""
    match = _TEAM_IN_ZIP.match(zip_name)
    named = int(match.group(1)) if match else None
    if manifest_team is not None and named is not None and manifest_team != named:
        return None
    return manifest_team if manifest_team is not None else named


def today() -> date:
    return datetime.now(UTC).date()


def _expired_note(found: Finding, waiver: Waiver) -> Finding:
    return finding(
        "waiver-expired",
        f"the waiver for {found.code} (team {waiver.team}: {waiver.reason}) expired on "
        f"{waiver.expires.isoformat()} and was not applied",
        path=found.path,
    )


def apply_waivers(
    findings: Iterable[Finding],
    waivers: Waivers | None,
    *,
    team: int | None,
    on: date | None = None,
) -> list[Finding]:
    """``findings`` with matching waivers applied; idempotent (a second pass changes nothing).

    A waiver-expired note is itself never waived: it exists so that the lapse is seen.
    """
    found = list(findings)
    if waivers is None or team is None or any(f.name == "team-id-mismatch" for f in found):
        return found
    on = on or today()
    mine = [w for w in waivers.waivers if w.team == team]
    out: list[Finding] = []
    noted = {(f.message, f.path) for f in found if f.name == "waiver-expired"}
    for f in found:
        if f.waived is not None or f.name == "waiver-expired":
            out.append(f)
            continue
        live = next((w for w in mine if w.code == f.code and on <= w.expires), None)
        if live is not None:
            mark = Waived(reason=live.reason, expires=live.expires, waivers_sha256=waivers.sha256)
            out.append(f.model_copy(update={"waived": mark}))
            continue
        out.append(f)
        for w in mine:
            if w.code == f.code:
                note = _expired_note(f, w)
                if (note.message, note.path) not in noted:
                    noted.add((note.message, note.path))
                    out.append(note)
    return out
