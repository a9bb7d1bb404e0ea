"""The inference worker: the only code that runs next to the untrusted submission.

It is kept small and imports nothing that touches ground truth. It sees the submission,
the LR images and one output directory, and writes ``result.json`` (a ``WorkerResult``)
plus the SR images as ``sr/<split>/<stem>.npy``. Run it as
``python -m esr_validator.sandbox CONFIG.json``.
"""
