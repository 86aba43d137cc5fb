"""The app's rotating log file, kept in its settings folder beside attnscope.ini (one per process)."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "attnscope.log"
MAX_BYTES = 1_000_000
BACKUPS = 2  # attnscope.log.1 and .2: at most about 3 MB in all
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

_handler: RotatingFileHandler | None = None


def start_log_file(folder: str | Path) -> Path:
    """Log to folder/attnscope.log from now on (replacing a file this process logged to before); its path.

    A folder that cannot be written leaves logging to the console only: the app must start anyway.
    """
    global _handler
    path = Path(folder) / LOG_NAME
    if _handler is not None and Path(_handler.baseFilename) == path.resolve():
        return path
    stop_log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot keep a log file in %s: %s", path.parent, exc)
        return path
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG)  # the root logger's level (--log-level) decides what reaches it
    logging.getLogger().addHandler(handler)
    _handler = handler
    return path


def stop_log_file() -> None:
    """Close the file (at exit, or before logging to another folder)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler.close()
        _handler = None
