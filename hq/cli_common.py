"""What every ``hq`` subcommand shares: its exit codes and how it speaks to the admin.

Exit codes: 0 done; 1 the machine would not let it happen (port taken, disk, a folder it may not
create); 2 bad input (arguments, settings, database URL, a file). Messages go to stderr in the
admin's language (``hq.i18n``); results go to stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

from hq import i18n
from hq.i18n import Text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: problems listed for a refused import; the count of the rest follows
MAX_PROBLEMS_SHOWN = 50


def say(text: Text, stream: TextIO | None = None) -> None:
    print(text.pick(i18n.cli_language()), file=stream or sys.stderr, flush=True)
