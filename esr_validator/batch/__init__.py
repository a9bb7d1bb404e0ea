"""Organizer batches: every zip of a folder through the pipeline, resumable, then ranked.

- :mod:`keys` what makes two runs of a submission the same run;
- :mod:`state` the output folder, its lock and the per-key markers;
- :mod:`jobs` one submission as a job (a validator bug becomes its failure record);
- :mod:`local`, :mod:`raycluster` (+ :mod:`remote`) the executors;
- :mod:`driver` the run from top to bottom; :mod:`display` progress and summary;
- :mod:`leaderboard` the ranked board as data, drawn by :mod:`tables` (CSV, Markdown),
  :mod:`page` and :mod:`plot` (HTML with an inline SVG scatter plot).
"""
