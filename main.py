"""attnscope entry point: `python main.py` opens the app; a sub-command runs headless."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

LOG_LEVELS = ("debug", "info", "warning", "error")

# Sub-commands live beside the code they drive; each module exposes main(argv) -> int.
COMMANDS = {
    "corpus": "models.data.corpus_cli",
    "train": "models.training.train_cli",
    "card": "models.training.model_card",
    "inspect": "engine.inspect_cli",
    "evaluate": "engine.evaluation.evaluate_cli",
    "convert": "models.importers.convert_cli",
}


# The commands that draw images get the window's renderers as callables (in this order, after argv); Qt is
# imported only if one is called.
IMAGE_WRITERS = {
    "inspect": ("gui.export.render:render_file",),
    "evaluate": ("gui.tools.quality_plot:export_report_plot", "gui.export.head_ranking_figure:export_head_ranking"),
}


def gui_writer(target: str) -> Callable[..., None]:
    """A callable for `module:function` in gui/ that imports it (and Qt) on its first call."""
    module, name = target.split(":")

    def write(*args: Any) -> None:
        getattr(importlib.import_module(module), name)(*args)

    return write


class _ConsoleFormat(logging.Formatter):
    """Progress and notes (info) read as plain lines; anything worse says what it is and where it came from."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {record.name}: {text}"


def configure_logging(argv: list[str]) -> list[str]:
    """Take `--log-level LEVEL` out of `argv` (anywhere in it) and log at that level to stderr; the rest of argv."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    known, rest = pre.parse_known_args(argv)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_ConsoleFormat("%(message)s"))
    logging.basicConfig(handlers=[console])  # no-op where the root logger has handlers already (pytest)
    logging.getLogger().setLevel(known.log_level.upper())
    return rest


def main(argv: list[str]) -> int:
    argv = configure_logging(argv)
    if argv and argv[0] in COMMANDS:
        command = importlib.import_module(COMMANDS[argv[0]])
        writers = [gui_writer(target) for target in IMAGE_WRITERS.get(argv[0], ())]
        return int(command.main(argv[1:], *writers))
    # One BLAS thread for numpy: the plots' linear algebra is tiny, and OpenBLAS's spinning worker threads, up
    # against the engine thread on the same cores, turn the inspector's 1 ms PCA into 100+ ms.  Only effective
    # before numpy is first imported; torch (the engine) uses its own thread pool.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from gui.app import run  # Qt is imported only when the window is wanted

    return run(argv)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
