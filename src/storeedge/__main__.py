"""`python -m storeedge` is the same as the `storeedge` console script."""

import sys

from storeedge.cli import main

sys.exit(main())
