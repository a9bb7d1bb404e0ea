"""Pre-commit hooks for a challenge repository (``.pre-commit-hooks.yaml`` names them).

``esr-validator-manifest FILE...`` checks each ``submissions/teamNN.toml`` against the
manifest schema (the pydantic model the published JSON Schema is exported from; a test keeps
the two in agreement) and that ``team_id`` matches the file name.

``esr-validator-check-teams FILE...`` groups the staged files by team and runs the static
checks of ``esr-validator check`` on each team's zip, built as ``pack`` builds it, exactly as
``esr-validator pr`` does for a pull request. Nothing runs submission code: a commit hook
must stay fast and safe. Both print ``path:line: CODE severity message`` and exit 1 on errors.
"""
