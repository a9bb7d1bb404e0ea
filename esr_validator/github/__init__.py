"""GitHub Actions: checking pull requests that add models to a challenge repository.

``gitdiff`` lists what a pull request changed, ``pr`` groups it per team, ``assemble``
builds each team's submission zip and maps findings back to repository paths,
``annotations`` and ``summary`` draw the results for GitHub (workflow commands and the job
summary). The command itself is ``esr_validator.commands.pr``.
"""
