"""esr-validator: reproducible submission validator for the NTIRE ESR challenges."""

__version__ = "0.1.0"
