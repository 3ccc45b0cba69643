"""`python -m engine.cli ...`: the headless commands (sweep workers start themselves so)."""
import sys

from . import main

sys.exit(main())
