"""``esr-validator verify REPORT --pubkey KEY [--submission ZIP]``.

Prints ``OK: signed by <keyid>`` and exits 0, or ``FAIL: <reason>`` and exits 5. A file that
cannot be read, or a missing or unusable public key, is a tool error, not a verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from esr_validator.errors import EXIT_OK, EXIT_SIGNATURE, InputError
from esr_validator.signing.errors import VerificationError
from esr_validator.signing.keys import load_public_key
from esr_validator.signing.verify import VerifiedReport, verify_envelope
from esr_validator.text import clean


def run(args: argparse.Namespace) -> int:
    public_key = load_public_key(args.pubkey)
    report_path = Path(args.report)
    try:
        data = report_path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the report {report_path}: {exc.strerror}") from None
    submission = Path(args.submission) if args.submission else None
    try:
        verified = verify_envelope(data, public_key, submission_zip=submission)
    except VerificationError as exc:
        print(f"FAIL: {clean(exc.message)}")  # messages quote the report's own names
        if exc.hint:
            print(f"  hint: {clean(exc.hint)}")
        return EXIT_SIGNATURE
    _print_ok(verified, submission)
    return EXIT_OK


def _print_ok(verified: VerifiedReport, submission: Path | None) -> None:
    report = verified.report
    info = report.submission
    print(f"OK: signed by {verified.keyid}")
    print(
        f"  report: {clean(info.zip_name)} sha256:{info.zip_sha256}, status {report.status}, "
        f"validator {clean(report.validator_version)}, finished {report.finished_at.isoformat()}"
    )
    if submission is not None:
        print(f"  submission: {submission} matches the signed digest")
    else:
        print("  submission: not checked (pass --submission ZIP to tie the report to a file)")
