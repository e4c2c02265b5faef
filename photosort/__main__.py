"""``python -m photosort`` is the same as the ``photosort`` command."""

import sys

from photosort.cli import main

sys.exit(main())
