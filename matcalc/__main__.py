"""``python -m matcalc`` is the ``matcalc`` command."""
import sys

from .cli import main

sys.exit(main())
