"""The writers under fault injection (tests/test_write_faults.py), and a child process that runs one of them:

    python -m tests.write_child WRITER FOLDER VERSION pause       # pauses half-way through the temporary file
    python -m tests.write_child WRITER FOLDER VERSION fsize BYTES # the kernel refuses writes past BYTES (EFBIG)

"pause" prints PAUSED once half the data is written, then waits to be killed; "fsize" prints the error
the write ended in and exits 3 (0 if it succeeded).
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from engine import DecodeRequest, DecodeResult, InferenceSession, export_result
from models import Checkpoint, ModelConfig, Seq2Seq, Tokenizer, Vocab, save_checkpoint
from models.training.loop import TrainOptions, train

WORDS = [f"w{i}" for i in range(8)]


def small_checkpoint(version: int) -> Checkpoint:
    """A random model: each version has other weights, so each write changes the file."""
    torch.manual_seed(version)
    vocab = Vocab.build([WORDS])
    model = Seq2Seq(ModelConfig(len(vocab), len(vocab), embed_dim=8, hidden_dim=8, attn_dim=8))
    return Checkpoint(model, vocab, vocab, Tokenizer(), Tokenizer(), {"version": version})


def decode_result(version: int) -> DecodeResult:
    return InferenceSession(small_checkpoint(version), "cpu").run(DecodeRequest(1, "w1 w2 w3 w4"))


def _export(suffix: str) -> Callable[[Path, int], Path]:
    def write(folder: Path, version: int) -> Path:
        return export_result(decode_result(version), folder / f"result{suffix}", {"version": version})

    return write


def _save(folder: Path, version: int) -> Path:
    save_checkpoint(small_checkpoint(version), folder / "model.safetensors")
    return folder / "model.safetensors"


def _train(folder: Path, version: int) -> Path:
    """Training's own checkpointing: the loop saves the model after its best epoch."""
    data = Path(tempfile.mkdtemp(prefix="attnscope-train-")) / "pairs.tsv"
    data.write_text(
        "".join(f"{a} {b}\t{b.upper()} {a.upper()}\n" for a, b in zip(WORDS, WORDS[1:], strict=False)), "utf-8"
    )
    out = folder / "trained.safetensors"
    opts = TrainOptions(
        data=[data], valid=data, out=out, embed_dim=8, hidden_dim=8, attn_dim=8, epochs=1, seed=version, quiet=True
    )
    train(opts)
    return out


WRITERS: dict[str, Callable[[Path, int], Path]] = {
    "export .json": _export(".json"),
    "export .npz": _export(".npz"),
    "export .csv": _export(".csv"),
    "save_checkpoint": _save,
    "training": _train,
}


def is_temporary(fd: int, folder: Path) -> bool:
    """Whether `fd` is a temporary file models.atomic made in `folder`."""
    try:
        name = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return False
    return name.parent == folder and name.name.startswith(".") and name.suffix == ".tmp"


def pause_half_way(folder: Path) -> None:
    """os.write writes half of the first chunk into a temporary file in `folder`, says PAUSED, and waits."""
    real_write = os.write

    def write(fd: int, data: bytes | memoryview) -> int:
        if not is_temporary(fd, folder):
            return real_write(fd, data)
        written = real_write(fd, data[: max(1, len(data) // 2)])
        os.fsync(fd)
        print("PAUSED", flush=True)
        time.sleep(600)
        return written

    os.write = write  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    name, folder, version, mode = argv[0], Path(argv[1]).resolve(), int(argv[2]), argv[3]
    torch.set_num_threads(1)
    if mode == "pause":
        pause_half_way(folder)
    else:
        limit = int(argv[4])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        WRITERS[name](folder, version)
    except OSError as exc:
        print(f"{type(exc).__name__} {exc.errno}", flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
