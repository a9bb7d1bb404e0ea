"""Where the inference worker and the trusted scorer run: ``local`` or ``docker``."""
