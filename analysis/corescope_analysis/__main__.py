"""python3 -m corescope_analysis FILE [-o DIR]  (same as corescope-report)."""
import sys

from .cli import main

sys.exit(main())
