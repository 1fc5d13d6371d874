"""The command line's exit codes, besides those an error carries (``ParcrawlError.exit_code``).

Shells and scripts read them: they stay as they are.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell shows a command stopped by Ctrl-C
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for a writer whose reader left
