"""``python -m jaxloss`` runs the ``jaxloss`` command."""

import sys

from jaxloss.cli import main

sys.exit(main())
