"""Command-line entry point.

Only argument parsing lives here. Each sub-command is a ``run(args) -> int`` function in
``esr_validator.commands.<name>``, imported on demand so that ``esr-validator check`` never pays
for importing torch. Tool failures are ``ValidatorError`` subclasses; only ``main`` prints them,
and a traceback appears only with ``--traceback`` (or ``ESR_TRACEBACK=1``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from esr_validator import __version__, reporters
from esr_validator.errors import EXIT_INTERRUPTED, EXIT_USAGE, ValidatorError
from esr_validator.settings import FAIL_ON, traceback_wanted

FORMATS = reporters.FORMATS  # every command draws its result with any registered reporter


def _add_policy(p: argparse.ArgumentParser) -> None:
    """Severity control (resolved in :mod:`esr_validator.settings`; None: not given)."""
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="unwaived findings that fail the run: error (default; batch: never), warning, "
        "never ($ESR_FAIL_ON)",
    )
    p.add_argument("--waivers", help="the organizers' waivers file, TOML ($ESR_WAIVERS)")


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="intake and static checks only; nothing is executed")
    p.add_argument("zip", help="submission zip")
    p.add_argument("--format", choices=FORMATS, default="text")
    _add_policy(p)
    p.set_defaults(command="check")


def _add_pack(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pack", help="build a valid submission zip and its manifest")
    p.add_argument(
        "--model", required=True, help="the model's .py file, or its package folder (--module)"
    )
    p.add_argument(
        "--module", help="in a package folder: the module defining the class (e.g. HNCT)"
    )
    p.add_argument("--checkpoint", required=True, help="the weights file")
    p.add_argument("--team-id", required=True, type=int)
    p.add_argument("--team-name", required=True)
    p.add_argument("--class-name", required=True, help="class or factory in the model file")
    p.add_argument("--data-range", required=True, type=float, choices=(1.0, 255.0))
    p.add_argument("--model-name", help="<Name> in teamNN_<Name> (default: from --model)")
    p.add_argument("--kwargs", default="{}", help="constructor keyword arguments as JSON")
    p.add_argument("--args", dest="pos_args", default="[]", help="positional args as JSON list")
    p.add_argument("--state-dict-key", help="key nesting the state dict (params, params_ema)")
    p.add_argument("--no-strict", action="store_true", help="load_state_dict(strict=False)")
    p.add_argument("--loader-method", help="model method that loads the weights from a path")
    p.add_argument("--post-load", metavar="METHOD", help="method called after loading")
    p.add_argument("--post-load-scope", choices=("model", "submodules"), default="model")
    p.add_argument("--pad-multiple", type=int, metavar="N")
    p.add_argument("--tile", type=int, metavar="N")
    p.add_argument("--tile-overlap", type=int, default=0, metavar="N")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16", "int8"), default="fp32")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--extra", action="append", default=[], help="README or factsheet to include")
    p.add_argument("-o", "--output", required=True, help="zip to write")
    p.set_defaults(command="pack")


def _add_evaluation_args(p: argparse.ArgumentParser) -> None:
    """Every evaluation option defaults to None ("not given"): the defaults, the command's
    profile, the ruleset and the environment are applied by :mod:`esr_validator.settings`."""
    p.add_argument("--data-dir", help="folder with the *_LR/*_HR splits (default: smoke set)")
    p.add_argument("--runs", type=int, help="timed runs (default: the ruleset's)")
    p.add_argument("--stable-runs", type=int, help="runs of the stable protocol (default: --runs)")
    p.add_argument("--warmup", type=int, help="warm-up images, stable protocol (default 3)")
    p.add_argument(
        "--cudnn-benchmark", action="store_true", default=None, help="official default is off"
    )
    p.add_argument("--timeout", type=float, help="per submission, in seconds (default 1800)")
    p.add_argument("--ruleset", help="challenge ruleset (see `rulesets`)")
    p.add_argument(
        "--complexity-input",
        metavar="HxW",
        help="count FLOPs/activations on this input (default: the ruleset's)",
    )
    p.add_argument("--runner", choices=("auto", "docker", "local"))
    p.add_argument("--ssim", action="store_true", default=None, help="also SSIM and Y-PSNR")
    p.add_argument(
        "--synthetic-passes",
        type=int,
        metavar="N",
        help="timed passes, synthetic protocol (RTSR 2023; default: the ruleset's 244)",
    )
    p.add_argument(
        "--synthetic-warmup",
        type=int,
        metavar="N",
        help="warm-up passes, synthetic protocol (default: the ruleset's 50)",
    )


def _add_unsandboxed_signing(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-unsandboxed-signing",
        action="store_true",
        default=None,
        help="sign even though the local runner lets the model reach the key (recorded)",
    )


def _add_validate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check, evaluate and score a submission")
    p.add_argument("zip", help="submission zip")
    _add_evaluation_args(p)
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--calibrate", action="store_true", help="also time the baseline here")
    p.add_argument("--key", help="private key to sign the report with")
    _add_unsandboxed_signing(p)
    p.add_argument("--out", help="write the JSON report here")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--no-progress", action="store_true")
    _add_policy(p)
    p.set_defaults(command="validate")


def _add_simple(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rulesets", help="list the challenge rulesets")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(command="rulesets")

    p = sub.add_parser("keygen", help="write an Ed25519 signing key and PATH.pub")
    p.add_argument("path")
    p.add_argument("--force", action="store_true", help="overwrite an existing key")
    p.set_defaults(command="keygen")

    p = sub.add_parser("verify", help="verify a signed report")
    p.add_argument("report")
    p.add_argument("--pubkey", help="public key (default: $ESR_VALIDATOR_PUBKEY)")
    p.add_argument("--submission", help="also check that the report is about this zip")
    p.set_defaults(command="verify")

    p = sub.add_parser("cleanup", help="remove what runs killed with -9 left behind")
    p.add_argument("--no-docker", action="store_true", help="leave containers alone")
    p.set_defaults(command="cleanup")


def _add_batch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("batch", help="validate every zip of a folder, resumably, and rank them")
    p.add_argument("dir", help="folder of submission zips")
    p.add_argument("--out", required=True, help="output folder (reports, state, leaderboard)")
    p.add_argument("--key", help="private key to sign the reports with")
    _add_unsandboxed_signing(p)
    _add_evaluation_args(p)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    p.add_argument("--gpus", help="GPU indices to use, e.g. 0,1 (default: every visible one)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--ray-address", help="join this Ray cluster (default: $RAY_ADDRESS)")
    p.add_argument("--ray-num-gpus", type=int, help="GPUs of a Ray started here (testing)")
    p.add_argument("--ray-num-cpus", type=int, help="CPUs of a Ray started here")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--format", choices=FORMATS, default="text")
    _add_policy(p)
    p.set_defaults(command="batch")


def _add_pr(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pr", help="check the models a pull request adds (GitHub Actions)")
    p.add_argument("--repo", required=True, help="checkout of the challenge repository")
    p.add_argument("--base", required=True, help="the pull request's base commit")
    p.add_argument("--out", help="write the zips, reports, pr.json and summary.md here")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default cpu)")
    _add_evaluation_args(p)
    _add_policy(p)
    p.set_defaults(command="pr")


def _add_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="one zip per select_model() branch of a challenge repo")
    p.add_argument("repo", help="checkout of the organizers' challenge repository")
    p.add_argument("--out", help="folder for the teamNN.zip files (default: only report)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(command="import_")


def _add_codabench(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("codabench", help="Codabench competition bundle")
    verbs = p.add_subparsers(metavar="VERB", required=True)
    b = verbs.add_parser("bundle", help="write a competition bundle for a ruleset")
    b.add_argument("--ruleset", default=None, help="challenge ruleset (see `rulesets`)")
    b.add_argument("-o", "--output", required=True, help="folder to write (new or empty)")
    b.add_argument("--image", required=True, help="evaluation image Codabench's workers pull")
    b.add_argument("--data-dir", help="dataset for input/reference data (default: smoke set)")
    b.set_defaults(command="codabench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esr-validator",
        description="Validate NTIRE Efficient Super-Resolution challenge submissions.",
    )
    parser.add_argument("--version", action="version", version=f"esr-validator {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks of tool errors")
    sub = parser.add_subparsers(metavar="COMMAND", required=True)
    _add_check(sub)
    _add_pack(sub)
    _add_validate(sub)
    _add_simple(sub)
    _add_pr(sub)
    _add_batch(sub)
    _add_import(sub)
    _add_codabench(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    module = importlib.import_module(f"esr_validator.commands.{args.command}")
    try:
        return int(module.run(args))
    except ValidatorError as exc:
        if traceback_wanted(args.traceback):
            raise
        print(exc.describe(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_USAGE
