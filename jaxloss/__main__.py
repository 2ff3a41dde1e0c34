"""``python -m jaxloss`` runs the ``jaxloss`` command."""

import sys

from jaxloss.cli import main

if __name__ == "__main__":
  sys.exit(main())
