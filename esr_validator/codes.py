"""The catalogue of finding codes.

Every finding the validator can emit is declared here once, with its stable code, a short
name, its default severity and a fix hint. Codes are grouped by stage:

- ``ESR1xx`` zip intake          - ``ESR5xx`` evaluated outputs and measurements
- ``ESR2xx`` layout and manifest - ``ESR6xx`` worker failures (crash, timeout, OOM, ...)
- ``ESR3xx`` checkpoint          - ``ESR7xx`` scoring, gates and rulesets
- ``ESR4xx`` model source (AST)  - ``ESR8xx`` environment and sandbox
- ``ESR9xx`` importing a challenge repository (``esr-validator import``)

A code, once released, keeps its meaning; retire it instead of reusing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.report import FailureCategory

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


@dataclass(frozen=True)
class Code:
    """Everything known about one code; no other module keeps a table keyed by codes."""

    code: str
    name: str
    severity: Severity
    hint: str
    failure: FailureCategory | None = None  # what a batch records when this error decides
    blocks_extraction: bool = False  # found in the central directory: nothing is extracted
    context: bool = False  # about how the check ran (runner, device, data), not the entry
    data_range_cause: bool = False  # a wrong data_range is the usual cause


_ENTRIES: tuple[Code, ...] = (
    # --- zip intake -----------------------------------------------------------------------
    Code(
        "ESR101",
        "zip-unreadable",
        E,
        "Create the archive with `esr-validator pack` or `zip -r`.",
        blocks_extraction=True,
    ),
    Code(
        "ESR102",
        "zip-unsafe-path",
        E,
        "Member paths must be relative, without '..' or drive letters.",
        blocks_extraction=True,
    ),
    Code(
        "ESR103",
        "zip-symlink",
        E,
        "Replace symbolic links with the files they point to.",
        blocks_extraction=True,
    ),
    Code(
        "ESR104", "zip-duplicate-name", E, "Each member name may appear only once in the archive."
    ),
    Code(
        "ESR105",
        "zip-encrypted",
        E,
        "Do not password-protect the submission archive.",
        blocks_extraction=True,
    ),
    Code(
        "ESR106",
        "zip-nested-archive",
        E,
        "Put files in the zip directly, not inside another archive.",
    ),
    Code(
        "ESR107",
        "zip-too-many-members",
        E,
        "A submission needs a handful of files; remove the rest.",
        blocks_extraction=True,
    ),
    Code(
        "ESR108",
        "zip-too-large",
        E,
        "Reduce the checkpoint size; the limit is shown in the message.",
        blocks_extraction=True,
    ),
    Code(
        "ESR109",
        "zip-compression-ratio",
        E,
        "A member expands suspiciously (zip bomb); store it normally.",
        blocks_extraction=True,
    ),
    Code(
        "ESR110",
        "zip-member-corrupt",
        E,
        "Re-create the archive; a member failed its CRC or size check.",
    ),
    # --- layout and manifest ----------------------------------------------------------------
    Code(
        "ESR201",
        "manifest-missing",
        E,
        "Add submission.toml at the zip root (`esr-validator pack` writes it).",
    ),
    Code("ESR202", "manifest-not-toml", E, "Fix the TOML syntax at the line shown."),
    Code(
        "ESR203", "manifest-invalid", E, "Fix the field named in the message; see docs/manifest.md."
    ),
    Code("ESR204", "manifest-unknown-key", E, "Remove the key or correct its spelling."),
    Code(
        "ESR205",
        "data-range-invalid",
        E,
        "Set data_range to 1.0 (input in [0,1]) or 255.0 (input in [0,255]).",
    ),
    Code("ESR206", "scale-invalid", E, "The challenge is x4: set scale = 4."),
    Code(
        "ESR207",
        "team-id-invalid",
        E,
        "Use your registered team id, 0-99, written with two digits in file names.",
    ),
    Code(
        "ESR208",
        "team-id-mismatch",
        E,
        "Make the NN in teamNN_ file names equal the manifest's team_id.",
    ),
    Code(
        "ESR209",
        "model-file-missing",
        E,
        "Add exactly one models/teamNN_<Name>.py, or one package models/teamNN_<Name>/.",
    ),
    Code(
        "ESR210",
        "model-file-multiple",
        E,
        "Keep one model under models/: one file, or one package folder with its helpers.",
    ),
    Code(
        "ESR211",
        "model-file-name",
        E,
        "Name the model file models/teamNN_<Name>.py, NN zero-padded to two digits.",
    ),
    Code(
        "ESR212",
        "checkpoint-missing",
        E,
        "Add the weights as model_zoo/teamNN_<Name>.pth (.pt, .ckpt, .safetensors).",
    ),
    Code("ESR213", "checkpoint-multiple", E, "Keep exactly one checkpoint under model_zoo/."),
    Code(
        "ESR214",
        "checkpoint-extension",
        E,
        "Save the checkpoint as .pth, .pt, .ckpt or .safetensors.",
    ),
    Code(
        "ESR215",
        "checkpoint-name-differs",
        W,
        "Name the checkpoint like the model file: teamNN_<Name>.pth.",
    ),
    Code(
        "ESR216",
        "extra-python-file",
        E,
        "Python code belongs in models/: one file, or a package models/teamNN_<Name>/ that "
        "holds the model and its helper modules (see docs/manifest.md, module).",
    ),
    Code(
        "ESR217",
        "unexpected-file",
        E,
        "Remove the file; allowed extras are a README and a factsheet PDF.",
    ),
    Code(
        "ESR218",
        "model-name-mismatch",
        W,
        "Make model_name in the manifest match <Name> in the file name.",
    ),
    Code(
        "ESR219",
        "models-dir-extra-file",
        E,
        "models/ holds the model's source only: one file models/teamNN_<Name>.py, or one "
        "package folder models/teamNN_<Name>/ of .py files. Remove bytecode, extensions, "
        "other folders and names with trailing spaces.",
    ),
    Code(
        "ESR220",
        "model-module",
        E,
        "For a model package, set module in submission.toml to the file that defines the class, "
        'dotted from the package (module = "HNCT" for models/team12_hnct/HNCT.py); for one '
        "file, leave module out.",
    ),
    # --- checkpoint -------------------------------------------------------------------------
    Code(
        "ESR301",
        "checkpoint-unsafe-globals",
        E,
        "Save only tensors: torch.save(model.state_dict(), path).",
    ),
    Code(
        "ESR302",
        "checkpoint-unreadable",
        E,
        "Re-save the checkpoint with torch.save on a plain state dict.",
    ),
    Code(
        "ESR303",
        "checkpoint-key-missing",
        E,
        "Set checkpoint.key to the key holding the state dict, or remove it.",
    ),
    Code(
        "ESR304",
        "checkpoint-not-state-dict",
        E,
        "Under the declared key there must be a mapping of names to tensors.",
    ),
    Code(
        "ESR305",
        "checkpoint-key-suggested",
        W,
        "The weights look nested; set checkpoint.key as suggested.",
    ),
    Code(
        "ESR306",
        "checkpoint-state-mismatch",
        E,
        "The state dict does not fit the model; fix names or set strict = false.",
    ),
    # --- model source (static, AST only) ----------------------------------------------------
    Code(
        "ESR401",
        "source-syntax-error",
        E,
        "Fix the syntax error; the file must be valid Python 3.11+.",
    ),
    Code(
        "ESR402",
        "source-class-missing",
        E,
        "Define the class or factory named by class_name at module top level.",
    ),
    Code(
        "ESR403",
        "source-import-unavailable",
        E,
        "The evaluation environment lacks this package; remove the import or inline the code.",
    ),
    Code(
        "ESR404",
        "source-import-unusual",
        W,
        "This import is outside the usual set; make sure the environment has it.",
    ),
    Code(
        "ESR405",
        "source-device-hardcoded",
        W,
        "Do not call .cuda() or hard-code a device; the harness moves the model.",
    ),
    Code("ESR406", "source-network", E, "Model code must not open network connections."),
    Code("ESR407", "source-subprocess", E, "Model code must not start processes."),
    Code("ESR408", "source-file-write", E, "Model code must not write files."),
    Code(
        "ESR409",
        "source-ctypes",
        E,
        "Model code must not load native libraries through ctypes/cffi.",
    ),
    Code(
        "ESR410",
        "source-dynamic-code",
        E,
        "Remove eval/exec/__import__/importlib; import normally at top level.",
    ),
    Code("ESR411", "source-builtins", E, "Model code must not modify builtins."),
    Code(
        "ESR412",
        "source-monkeypatch-torch",
        E,
        "Do not reassign attributes of torch; define your own functions.",
    ),
    Code(
        "ESR413",
        "source-dynamic-namespace",
        E,
        "Import and call functions by name (`import x; x.f()`); do not reach modules through "
        "sys.modules, vars(), __dict__, computed getattr or __builtins__.",
    ),
    Code(
        "ESR414",
        "source-reflective-format",
        E,
        "Format strings with f-strings or str.format; string.Formatter's field lookup returns "
        "arbitrary attributes.",
    ),
    Code(
        "ESR415",
        "source-private-pickle",
        E,
        "Model code must not unpickle; pickle's private entry points (_loads, _Unpickler) run "
        "code just like the public ones.",
    ),
    Code(
        "ESR416",
        "source-low-level-file",
        E,
        "Model code must not write files; io.FileIO and os.open with computed or numeric "
        "flags open files for writing out of sight.",
    ),
    Code(
        "ESR417",
        "source-module-patch",
        E,
        "Do not assign to attributes of imported modules; it changes them for the harness too. "
        "Define your own function instead.",
    ),
    Code(
        "ESR418",
        "source-cudnn-flags",
        W,
        "The harness sets the timing protocol's cudnn flags; the entry's own settings can change "
        "its measured runtime. Remove them unless the organizers' run set them the same way.",
    ),
    # --- evaluated outputs and measurements -------------------------------------------------
    Code(
        "ESR501",
        "output-shape",
        E,
        "The model must return 1x3x(4H)x(4W) for a 1x3xHxW input.",
        failure="bad_output",
    ),
    Code(
        "ESR502",
        "output-nonfinite",
        E,
        "The output has NaN or Inf; check normalisation and fp16 overflow.",
        failure="bad_output",
    ),
    Code(
        "ESR503",
        "output-constant",
        E,
        "The output is constant; check that the weights actually loaded.",
        failure="bad_output",
    ),
    Code(
        "ESR504",
        "output-out-of-range",
        W,
        "Outputs exceed [0, data_range] before clamping; check data_range.",
        data_range_cause=True,
    ),
    Code(
        "ESR505",
        "psnr-below-bicubic",
        E,
        "PSNR is below plain bicubic upscaling; data_range is the usual cause.",
        data_range_cause=True,
    ),
    Code(
        "ESR506",
        "smoke-data",
        I,
        "Run with --data-dir on the official valid/test sets for comparable PSNR.",
        context=True,
    ),
    Code(
        "ESR507",
        "flops-unsupported-ops",
        W,
        "fvcore counted these ops as 0; the FLOPs figure is an under-count.",
    ),
    Code(
        "ESR508",
        "complexity-input-dependent",
        W,
        "FLOPs or activations change with the input; the figure is not reproducible.",
    ),
    Code(
        "ESR509",
        "timing-noisy",
        W,
        "Close other workloads and rerun with more --runs.",
        context=True,
    ),
    Code(
        "ESR510",
        "complexity-changed-after-inference",
        I,
        "The model changed during inference; complexity is measured after it, as officially.",
    ),
    Code(
        "ESR511",
        "data-missing",
        E,
        "Point --data-dir at a folder with *_LR and *_HR splits (see docs/data.md).",
    ),
    Code(
        "ESR512",
        "timing-integrity",
        E,
        "The in-worker clock disagrees with the round trip timed outside it; the outer figure "
        "is used. Do not touch timing code from the model.",
    ),
    Code(
        "ESR513",
        "outputs-differ-between-runs",
        E,
        "The same input must give the same output in every run; remove state kept across calls.",
    ),
    Code(
        "ESR514",
        "params-hidden",
        E,
        "Hold weights as nn.Parameter: buffers and plain tensors escape the params count.",
    ),
    Code(
        "ESR515",
        "flops-hidden-under-tracing",
        E,
        "The traced graph counts far fewer FLOPs than the eager forward; do not branch on "
        "torch.jit.is_tracing().",
    ),
    Code(
        "ESR516",
        "traced-output-differs",
        E,
        "The forward must compute the same thing when traced; remove tracing-dependent code.",
    ),
    Code(
        "ESR517",
        "functional-convolutions",
        W,
        "Convolutions called functionally are invisible to the official activation counter; "
        "use nn.Conv2d modules.",
    ),
    Code(
        "ESR518",
        "measuring-code-tampered",
        E,
        "The model changed the validator's measuring code; the figures cannot be trusted.",
    ),
    Code(
        "ESR519",
        "timing-below-resolution",
        I,
        "The runtime is too short for the outer clock to resolve a 3 % run-to-run spread; "
        "its CV is not flagged. Time on the official data, or on a GPU (CUDA events).",
        context=True,
    ),
    Code(
        "ESR520",
        "runtime-unresolved",
        W,
        "The official runtime came out at 0 ms once the channel's own round trip was taken "
        "off: the clock cannot resolve a forward this short. It was scored at the clock's "
        "resolution, an upper bound. Time on the official data, or on a GPU (CUDA events).",
        context=True,
    ),
    Code(
        "ESR521",
        "machine-noisy",
        W,
        "This machine spreads a fixed workload by more than 3 % from run to run, whatever "
        "the model: its runtimes are not comparable with a quiet machine's. A model is "
        "flagged noisy (ESR509) only when its spread happens again in a confirmation round, "
        "well beyond this one (5.43 times for the 4 steadiest of 5 runs). Close other "
        "workloads, pin the evaluation to idle cores, or time on a dedicated machine.",
        context=True,
    ),
    # --- worker failures -------------------------------------------------------------------
    Code(
        "ESR601",
        "worker-crashed",
        E,
        "The model raised an exception; the message carries its last lines.",
        failure="crashed",
    ),
    Code(
        "ESR602",
        "worker-timeout",
        E,
        "Evaluation exceeded the time limit; make inference faster or raise --timeout.",
        failure="timeout",
    ),
    Code(
        "ESR603",
        "worker-out-of-memory",
        E,
        "The model ran out of memory; reduce activation size or declare tiling.",
        failure="out_of_memory",
    ),
    Code(
        "ESR604",
        "worker-killed",
        E,
        "The worker was killed by a signal (often the kernel's OOM killer).",
        failure="out_of_memory",
    ),
    Code(
        "ESR605",
        "worker-result-invalid",
        E,
        "The worker result failed validation; do not write into the output folder.",
        failure="crashed",
    ),
    Code(
        "ESR606",
        "model-load-failed",
        E,
        "Importing or constructing the model failed; see the message.",
        failure="crashed",
    ),
    Code(
        "ESR607",
        "worker-output-flood",
        W,
        "The model printed too much; output was truncated. Remove prints.",
    ),
    # --- scoring --------------------------------------------------------------------------
    Code(
        "ESR701",
        "psnr-gate-failed",
        E,
        "PSNR is below the ruleset's threshold; the entry would not be ranked.",
    ),
    Code(
        "ESR702",
        "non-reference-device",
        W,
        "Runtime scores are only official on the reference GPU; use --calibrate.",
        context=True,
    ),
    Code("ESR703", "ruleset-invalid", E, "Fix the ruleset file as the message says."),
    Code(
        "ESR704",
        "timing-protocol-deviation",
        W,
        "The runtime is not the ruleset's protocol; time on a CUDA GPU without overrides.",
    ),
    Code(
        "ESR705",
        "score-overflow",
        E,
        "A measurement is so far above the baseline that its score exceeds any double; the "
        "entry cannot be ranked. Check the parameter count (unused layers count too).",
    ),
    Code(
        "ESR706",
        "waiver-expired",
        W,
        "The organizers' waiver for this finding has expired and no longer applies; ask them "
        "to renew it or fix the finding.",
    ),
    # --- environment and sandbox ------------------------------------------------------------
    Code(
        "ESR801",
        "not-sandboxed",
        W,
        "The local runner does not isolate the model; use RUNNER=docker.",
        context=True,
    ),
    Code(
        "ESR802",
        "sandbox-violation",
        E,
        "The model tried something the sandbox forbids; see the message.",
    ),
    Code(
        "ESR803",
        "hardcoded-cuda",
        W,
        "Use the device of the input (x.device) instead of .cuda() or device='cuda'; on this "
        "CPU-only machine the calls ran on the CPU.",
    ),
    Code(
        "ESR804",
        "environment-incomplete",
        W,
        "Install the ruleset's [environment] packages into this interpreter, or evaluate where "
        "they are (docs/container.md); an entry importing a missing package fails here, not at "
        "the organizers'.",
        context=True,
    ),
    # --- importing a challenge repository ---------------------------------------------------
    Code(
        "ESR901",
        "import-branch-unsupported",
        E,
        "The branch does something a manifest cannot express; write its submission.toml "
        "by hand (see docs/manifest.md) or simplify the branch.",
    ),
    Code(
        "ESR902",
        "import-checkpoint-missing",
        E,
        "Fetch the checkpoint (git lfs pull, or the release it is published in) and import again.",
    ),
    Code(
        "ESR903",
        "import-model-missing",
        E,
        "The model must be one file or one package folder under models/; fetch it, or make the "
        "package import itself only by its own name or relatively.",
    ),
    Code("ESR904", "import-no-model", I, "The branch defines no model; nothing to import."),
    Code(
        "ESR905",
        "import-manifest-invalid",
        E,
        "The branch reads, but its values make no valid manifest (team id 0-99, data_range).",
    ),
    Code(
        "ESR906",
        "import-from-select-model",
        I,
        "Nothing to do; commit submissions/teamNN.toml to state the loading explicitly.",
    ),
)

CATALOG: dict[str, Code] = {c.code: c for c in _ENTRIES}
BY_NAME: dict[str, Code] = {c.name: c for c in _ENTRIES}


def code_of(found: Finding) -> Code:
    """The catalogue entry of a finding (every finding the validator emits has one)."""
    return CATALOG[found.code]


def is_code(found: Finding, name: str) -> bool:
    """Whether ``found`` is the catalogue's ``name`` (compared by name, never by literal code)."""
    return BY_NAME[name].code == found.code


def finding(
    name: str,
    message: str,
    *,
    path: str | None = None,
    line: int | None = None,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """Build a finding from the catalogue entry called ``name``."""
    entry = BY_NAME[name]
    return Finding(
        code=entry.code,
        name=entry.name,
        severity=severity or entry.severity,
        path=path,
        line=line,
        message=message,
        hint=hint or entry.hint,
    )
