"""Intake: everything learnt about a submission without executing any of it.

zip → ``zipread`` (central directory, then streamed extraction) → ``manifest`` →
``layout`` rules → ``source`` (AST) and ``checkpoint`` (pickle globals, weights-only load).
``check.run_intake`` drives the stages and gathers every finding at once.
"""
