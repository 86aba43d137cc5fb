"""Choosing the torch device: "auto" or an explicit name, falling back to CPU with a note for the user."""

from __future__ import annotations

from dataclasses import dataclass

import torch

AUTO = "auto"
DECODE_THREADS = 1  # one intra-op thread: step decoding gains little from more, and the GUI keeps a core


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    message: str = ""  # non-empty when the request could not be honoured (the UI shows it)

    @property
    def name(self) -> str:
        return str(self.device)


def available_devices() -> list[str]:
    """Names a device menu can offer, "auto" first."""
    names = [AUTO, "cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def resolve_device(name: str = AUTO) -> DeviceChoice:
    """The device to use for `name`; never raises: anything unusable falls back to CPU with a message."""
    wanted = (name or AUTO).strip().lower()
    if wanted == AUTO:
        return _auto()
    try:
        device = torch.device(wanted)
    except (RuntimeError, ValueError):
        return DeviceChoice(
            torch.device("cpu"), f"Unknown device {name!r} (try cpu, cuda, cuda:1 or mps); using the CPU."
        )
    problem = _problem(device)
    if problem:
        return DeviceChoice(torch.device("cpu"), f"Device {name!r} is not usable ({problem}); using the CPU.")
    return DeviceChoice(_with_index(device))


def prepare_thread(device: torch.device, threads: int | None = DECODE_THREADS) -> None:
    """Call on the decoding thread before touching the device: its intra-op thread count (None: leave
    it) and the current CUDA device.  Both settings belong to the calling thread only."""
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if device.type == "cuda":
        torch.cuda.set_device(device)


def _auto() -> DeviceChoice:
    for candidate in ("cuda", "mps"):
        device = torch.device(candidate)
        if not _problem(device):
            return DeviceChoice(_with_index(device))
    return DeviceChoice(torch.device("cpu"))


def _with_index(device: torch.device) -> torch.device:
    """ "cuda" → "cuda:N" for the current device, so every later comparison sees one spelling."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _problem(device: torch.device) -> str:
    """Why `device` cannot be used, or "" when a tiny allocation on it works."""
    if device.type == "cpu":
        return ""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available in this build or on this machine"
        if device.index is not None and device.index >= torch.cuda.device_count():
            return f"only {torch.cuda.device_count()} CUDA device(s) present"
    elif device.type == "mps":
        if not _mps_available():
            return "Apple MPS is not available"
    else:
        return f"device type {device.type!r} is not supported"
    try:
        torch.zeros(1, device=device).add_(1).cpu()  # catches broken drivers and exhausted memory early
    except (RuntimeError, AssertionError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
