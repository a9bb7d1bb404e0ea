"""Run the static source check over the organizers' real entries and count the findings.

Usage: ``python scripts/check_organizer_sources.py DIR [DIR ...]`` where each DIR holds a
``models/`` folder extracted from an organizers' repository, e.g.::

    git --git-dir=<mirror of Amazingren/NTIRE2024_ESR> archive HEAD models | tar -x -C DIR

Every ``models/team*.py`` is checked with the official (``cuda``) environment. The class-name
rule (ESR402) is left out: which class a team's entry builds is in ``test_demo.py``, not in
the file. Prints one line per error finding and a summary of codes by severity; exits 1 when
any entry gets an error.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

from esr_validator.intake.packages import load_packages
from esr_validator.intake.source import check_source


def _a_class(text: str) -> str:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return "Model"
    classes = [s.name for s in tree.body if isinstance(s, ast.ClassDef)]
    return classes[-1] if classes else "Model"


def main(folders: list[str]) -> int:
    environment = load_packages("cuda")
    counts: Counter[tuple[str, str]] = Counter()
    entries = with_errors = 0
    for folder in folders:
        for path in sorted(Path(folder).glob("models/team*.py")):
            entries += 1
            text = path.read_text("utf-8", errors="replace")
            found = check_source(
                text, path=str(path), class_name=_a_class(text), environment=environment
            )
            found = [f for f in found if f.code != "ESR402"]
            errors = [f for f in found if f.severity == "error"]
            with_errors += bool(errors)
            for f in errors:
                print(f"ERROR {path}:{f.line} {f.code} {f.message}")
            counts.update((f.severity, f.code) for f in found)
    print(f"entries checked: {entries}; entries with an error: {with_errors}")
    for (severity, code), n in sorted(counts.items()):
        print(f"  {severity:8} {code} {n}")
    return 1 if with_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
