"""``python -m paysim``: the same as the ``paysim`` command."""

from paysim.cli import main

raise SystemExit(main())
