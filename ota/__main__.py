"""``python -m ota``: the services run a release's Python this way (console scripts in a renamed venv
name the staging folder in their ``#!`` line; see ota.slots)."""

import sys

from ota.cli import main

sys.exit(main())
