"""``esr-validator pr --repo DIR --base REF``: check the models a pull request adds.

    git diff against the merge base → files per team → each team's zip (as `pack` builds it)
        → intake + static checks → evaluation (complexity, smoke-set PSNR) → findings mapped
        to repository paths → text / JSON / GitHub annotations and job summary

Every team's zip is built and statically checked before any submission code runs. Exit
code: 1 when an unwaived finding reaches ``--fail-on`` (default: any error), else 0 (the
action fails the job on 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from esr_validator import __version__, reporters
from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError
from esr_validator.github import annotations as gh
from esr_validator.github.assemble import Assembly, assemble
from esr_validator.github.gitdiff import pr_diff
from esr_validator.github.pr import group_changes, locate, other_files_note
from esr_validator.github.summary import render
from esr_validator.owner import owned_temporary
from esr_validator.pipeline import Setup, prepare, validate_zip
from esr_validator.reporters.text import dump_json
from esr_validator.schemas.findings import fails, has_errors
from esr_validator.schemas.pr import PrCheck, TeamCheck
from esr_validator.schemas.report import Report
from esr_validator.settings import in_github_actions, policy, resolve
from esr_validator.waivers import Waivers, apply_waivers


def _setup(args: argparse.Namespace) -> Setup:
    return prepare(resolve(vars(args), command="pr"))


def _team(
    asm: Assembly, report: Report | None, out: Path | None, waivers: Waivers | None
) -> TeamCheck:
    findings = apply_waivers(asm.findings, waivers, team=asm.team.team_id)
    if report is not None:
        findings += [asm.to_repo(f) for f in report.findings]
    manifest = report.submission.manifest if report else None
    status = report.status if report else ("removed" if asm.removed else "not_built")
    keep = out is not None and asm.zip_path is not None
    return TeamCheck(
        team=asm.team.label,
        team_id=asm.team.team_id,
        team_name=manifest.team_name if manifest else None,
        status=status,
        ok=not has_errors(findings),
        changed=asm.team.changed,
        deleted=asm.team.deleted,
        manifest_file=asm.files.manifest,
        model_file=asm.model,
        checkpoint_file=asm.checkpoint,
        zip_file=asm.zip_path.name if keep and asm.zip_path else None,
        zip_sha256=report.submission.zip_sha256 if report else None,
        report_file=f"{asm.team.label}.report.json" if keep and report else None,
        findings=findings,
        psnr={s.split: s.psnr for s in report.splits} if report else {},
        bicubic_psnr={s.split: s.bicubic_psnr for s in report.splits} if report else {},
        complexity=report.complexity if report else None,
    )


def _emit(check: PrCheck, reports: dict[str, Report], fmt: str) -> None:
    out = sys.stdout
    if fmt == "text" and in_github_actions():
        # Submission text in a job log is printed only with workflow commands stopped.
        with gh.commands_stopped(out):
            reporters.get(fmt)(out).pr(check, reports)
    else:
        reporters.get(fmt)(out).pr(check, reports)
    out.flush()


def _check(args: argparse.Namespace, repo: Path, work: Path, out: Path | None) -> int:
    diff = pr_diff(repo, args.base)
    grouping = group_changes(diff.changes)
    assemblies = [
        assemble(repo, grouping.teams[tid], locate(repo, tid), work)
        for tid in sorted(grouping.teams)
    ]
    setup = _setup(args) if any(a.zip_path for a in assemblies) else None
    reports: dict[str, Report] = {}
    for asm in assemblies:
        if asm.zip_path is not None and setup is not None:
            reports[asm.team.label] = validate_zip(asm.zip_path, setup)
    fail_on, waivers = policy(vars(args), command="pr")
    teams = [_team(a, reports.get(a.team.label), out, waivers) for a in assemblies]
    pr_findings = grouping.findings + other_files_note(grouping.other)
    check = PrCheck(
        validator_version=__version__,
        base=diff.base,
        merge_base=diff.merge_base,
        head=diff.head,
        ok=not has_errors(pr_findings) and all(t.ok for t in teams),
        teams=teams,
        findings=pr_findings,
        options=setup.settings.run_options() if setup else None,
    )
    if out is not None:
        _write(out, check, reports)
    _emit(check, reports, args.format)
    every = [*pr_findings, *(f for t in teams for f in t.findings)]
    return EXIT_FINDINGS if fails(every, fail_on=fail_on) else EXIT_OK


def _write(out: Path, check: PrCheck, reports: dict[str, Report]) -> None:
    try:
        for label, report in reports.items():
            text = dump_json(report.model_dump(mode="json")) + "\n"
            (out / f"{label}.report.json").write_text(text, encoding="utf-8")
        (out / "pr.json").write_text(dump_json(check.model_dump(mode="json")) + "\n")
        (out / "summary.md").write_text(render(check), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write to --out {out}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    repo = Path(args.repo)
    if not repo.is_dir():
        raise InputError(f"--repo {repo} is not a folder")
    out = Path(args.out) if args.out else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create --out {out}: {exc}") from None
        return _check(args, repo.resolve(), out, out)
    with owned_temporary("esr-pr-") as work:
        return _check(args, repo.resolve(), Path(work), None)
