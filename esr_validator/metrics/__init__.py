"""Image conversion, fidelity metrics and the MATLAB-compatible bicubic resize.

Everything here runs on the trusted side: it reads ground truth. Submodules are imported
by name (``esr_validator.metrics.psnr``) so that importing the package stays cheap.
"""
