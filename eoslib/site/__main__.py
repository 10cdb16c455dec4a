"""`python -m eoslib.site`: build the course's website (see :mod:`eoslib.site.cli`)."""

import sys

from eoslib.site.cli import main

sys.exit(main())
