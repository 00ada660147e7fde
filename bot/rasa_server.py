"""``python -m bot.rasa_server run …``: Rasa's own command line, with JSON logs when asked.

Rasa installs its coloured console handler after applying ``--logging-config-file``, which
replaces any other console handler; with ``INTAKE_LOG_FORMAT=json`` that step is skipped, so the
handler of ``deploy/logging.yml`` (one JSON object per line) stays. Everything else is Rasa's.
"""

from __future__ import annotations

import os


def main() -> None:
    if os.environ.get("INTAKE_LOG_FORMAT", "").lower() == "json":
        import rasa.utils.io

        rasa.utils.io.configure_colored_logging = lambda loglevel: None
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
