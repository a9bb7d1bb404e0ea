"""``esr-validator import``: read an organizers' challenge repository into submission zips.

``test_demo.py``'s ``select_model()`` is read with the AST, never executed: each
``elif model_id == NN:`` branch becomes a manifest, and the model file and checkpoint it
names become ``teamNN.zip``. A branch the manifest cannot express gets a finding naming its
line (ESR901); nothing is guessed.
"""

from esr_validator.importer.build import ImportRow, import_repo, team_manifest

__all__ = ["ImportRow", "import_repo", "team_manifest"]
