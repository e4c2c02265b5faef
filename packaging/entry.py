"""Entry point of the desktop bundle: the same as the ``photosort`` command."""

import multiprocessing
import sys

from photosort.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # torch / DataLoader workers re-enter the executable
    sys.exit(main())
