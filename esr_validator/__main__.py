import sys

from esr_validator.cli import main

sys.exit(main())
