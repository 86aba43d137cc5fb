"""What does the engine cost on top of the model? Greedy decoding two ways, per step, at realistic sizes.

    python benchmarks/engine_overhead.py [--model PATH] [--device cpu] [--repeats 30] [--big-repeats 10]

"engine": InferenceSession.run with every StepRecord (top-k, α, e, c, s, entropy) and the final
DecodeResult materialised.  No one watches run()'s steps, so it turns the decode into records in few
copies.  "streamed": InferenceSession.decode_runs with a DecodeControl attached, as the app's engine
thread runs it (free-running: steps handed out in runs of about a frame, ~15 ms, each run one host copy;
the app sends each run to the window as one signal).
"bare": encode + init_state + the same number of model.decode_step calls with argmax feedback and
nothing kept.  All run on one thread with one intra-op thread (the engine's setting), interleaved;
per-step times are medians over the repeats, and a ratio is the median of the repeats' engine/bare
ratios (each pair ran back to back, on the same machine speed).

Two kinds of model, each on a 50-word input:
- the shipped model (--model; 0.5 M parameters, a step of a few hundred µs): `engine_overhead_ratio` and
  `streamed_overhead_ratio` (the engine's fixed cost per step shows most here);
- randomly initialised Bahdanau GRUs of 512 and 1024 hidden units with a 32k vocabulary on both sides
  (benchmarks/random_model.py; <eos> never wins, so greedy runs 50 steps): `overhead_ratio_h512` and
  `overhead_ratio_h1024` (streamed decode with every record / bare loop; target ≤ 1.05), and what a
  200-step streamed decode's records hold: `records_kib_200_steps_hN` (numpy and Python memory the records
  keep, traced by tracemalloc: top-k only, never the full distribution per step) and
  `decode_peak_rss_mib_200_steps_hN` (how far the process's peak RSS rose during that decode and an
  unwatched run() of it, whichever is more: the logits the engine holds while it works included).

Per-step times are wall-clock; on the CPU the ratio is also given in thread CPU time, which
other processes competing for the cores disturb far less.  Prints one `name=value` line per figure.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine import (
    DecodeControl,  # noqa: E402
    DecodeRequest,  # noqa: E402
    DecodeResult,  # noqa: E402
    DecodeStart,  # noqa: E402
    InferenceSession,  # noqa: E402
    StepRecord,  # noqa: E402
    prepare_thread,  # noqa: E402
)
from engine.inspect_cli import DEFAULT_MODEL  # noqa: E402
from models import BOS_ID  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from random_model import random_checkpoint, random_words  # noqa: E402

HIDDEN_SIZES = (512, 1024)
BIG_STEPS = 50
MEMORY_STEPS = 200
CLAUSES = (
    "please turn off the lights in the kitchen and then close the small cupboard after lunch "
    "then heat the tea and find the shoes in the room and lock the drawer today and cook all the rice "
    "at six then turn on the computer and find that towel and close the door"
)
LONG = " ".join(CLAUSES.split()[:50])


def bare_loop(session: InferenceSession, source: str, steps: int) -> None:
    """Encode + `steps` decode steps with nothing but argmax feedback."""
    model, device = session.model, session.device
    ids = session.checkpoint.src_vocab.encode(session.checkpoint.src_tokenizer.tokenize(source))
    with torch.inference_mode():
        memory = model.encode(torch.tensor([ids], device=device), torch.tensor([len(ids)]))
        state = model.init_state(memory)
        prev = torch.full((1,), BOS_ID, dtype=torch.long, device=device)
        for _ in range(steps):
            out = model.decode_step(prev, state, memory)
            prev, state = out.logits.argmax(-1), out.state
        prev.cpu()  # wait for the device


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, this thread's CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.thread_time()
    run()
    return time.perf_counter() - wall, time.thread_time() - cpu


def streamed(session: InferenceSession, request: DecodeRequest, control: DecodeControl) -> None:
    """Every run of step records as it comes, as the engine thread takes them (no delay, never paused)."""
    control.begin(request.request_id)
    for _ in session.decode_runs(request, control):
        pass


def paired_ratio(runs: list[tuple[float, float]], bare: list[tuple[float, float]], field: int) -> float:
    """The median of each adjacent pair's ratio: a pair saw the same machine (a shared VM's speed drifts)."""
    return statistics.median(r[field] / b[field] for r, b in zip(runs, bare, strict=True))


def measure(session: InferenceSession, name: str, source: str, repeats: int) -> tuple[float, float]:
    """Prints the figures of one input; returns its (engine, streamed) wall-clock ratios."""
    request = DecodeRequest(1, source, strategy="greedy")
    control = DecodeControl()
    steps = len(session.run(request).output_tokens)  # warm-up, and the step count the bare loop repeats
    bare_loop(session, source, steps)
    streamed(session, request, control)
    engine, stream, bare = [], [], []
    for _ in range(repeats):
        engine.append(timed(lambda: session.run(request)))
        bare.append(timed(lambda: bare_loop(session, source, steps)))
        stream.append(timed(lambda: streamed(session, request, control)))
    engine_step, bare_step = (statistics.median(t[0] for t in runs) / steps for runs in (engine, bare))
    ratio, stream_ratio = paired_ratio(engine, bare, 0), paired_ratio(stream, bare, 0)
    figures = {
        "source_tokens": len(source.split()),
        "steps": steps,
        "engine_step_us": f"{engine_step * 1e6:.1f}",
        "bare_step_us": f"{bare_step * 1e6:.1f}",
        "engine_steps_per_s": f"{1 / engine_step:.0f}",
        "bare_steps_per_s": f"{1 / bare_step:.0f}",
        "overhead_us_per_step": f"{(engine_step - bare_step) * 1e6:.1f}",
        "overhead_ratio": f"{ratio:.3f}",
        "streamed_step_us": f"{statistics.median(t[0] for t in stream) / steps * 1e6:.1f}",
        "streamed_overhead_ratio": f"{stream_ratio:.3f}",
    }
    if session.device.type == "cpu":
        figures["overhead_ratio_thread_cpu"] = f"{paired_ratio(engine, bare, 1):.3f}"
    for key, value in figures.items():
        print(f"{name}_{key}={value}")
    return ratio, stream_ratio


def measure_big(hidden: int, device: str, repeats: int) -> None:
    """The streamed/bare ratio of a random model with `hidden` units, then what a 200-step decode's records hold."""
    session = InferenceSession(random_checkpoint(hidden), device)
    source = " ".join(random_words(50))
    request = DecodeRequest(1, source, strategy="greedy", max_len=BIG_STEPS)
    control = DecodeControl()
    streamed(session, request, control)  # warm-up
    bare_loop(session, source, BIG_STEPS)
    stream, bare = [], []
    for _ in range(repeats):
        stream.append(timed(lambda: streamed(session, request, control)))
        bare.append(timed(lambda: bare_loop(session, source, BIG_STEPS)))
    figures = {
        f"h{hidden}_parameters": f"{sum(p.numel() for p in session.model.parameters()):,}",
        f"h{hidden}_streamed_step_ms": f"{statistics.median(t[0] for t in stream) / BIG_STEPS * 1e3:.2f}",
        f"h{hidden}_bare_step_ms": f"{statistics.median(t[0] for t in bare) / BIG_STEPS * 1e3:.2f}",
        f"overhead_ratio_h{hidden}": f"{paired_ratio(stream, bare, 0):.3f}",
        f"overhead_ratio_h{hidden}_spread": spread(stream, bare),
    }
    if session.device.type == "cpu":
        figures[f"overhead_ratio_h{hidden}_thread_cpu"] = f"{paired_ratio(stream, bare, 1):.3f}"
    figures.update(record_memory(session, source, hidden))
    for key, value in figures.items():
        print(f"{key}={value}", flush=True)


def spread(runs: list[tuple[float, float]], bare: list[tuple[float, float]]) -> str:
    """The lowest and highest of the pairs' wall-clock ratios: how noisy the machine was."""
    ratios = [r[0] / b[0] for r, b in zip(runs, bare, strict=True)]
    return f"{min(ratios):.3f}..{max(ratios):.3f}"


def record_memory(session: InferenceSession, source: str, hidden: int) -> dict[str, str]:
    """What the records of a 200-step streamed decode hold, and how far the peak RSS rises while decoding."""
    request = DecodeRequest(1, source, strategy="greedy", max_len=MEMORY_STEPS)
    control = DecodeControl()
    gc.collect()
    tracemalloc.start()
    records = kept_records(session, request, control)
    held = tracemalloc.get_traced_memory()[0] + untraced_bytes(records)
    tracemalloc.stop()
    assert len(records) == MEMORY_STEPS and all(len(r.topk) == request.top_k for r in records)
    del records
    peaks = [
        peak_rss_rise(lambda: kept_records(session, request, control)),
        peak_rss_rise(lambda: session.run(request)),
    ]
    figures = {
        f"records_kib_200_steps_h{hidden}": f"{held / 1024:.0f}",
        f"record_bytes_per_step_h{hidden}": f"{held / MEMORY_STEPS:.0f}",
    }
    if None not in peaks:
        figures[f"decode_peak_rss_mib_200_steps_h{hidden}"] = f"{max(p or 0 for p in peaks) / 2**20:.1f}"
    return figures


def untraced_bytes(records: list[StepRecord]) -> int:
    """Bytes of the host blocks the records' arrays view that tracemalloc does not see (torch allocated them)."""
    roots: dict[int, np.ndarray] = {}
    for record in records:
        for array in (record.alpha, record.scores, record.context, record.state):
            if array is None:  # a model without attention has no α
                continue
            while isinstance(array.base, np.ndarray):
                array = array.base
            roots[id(array)] = array
    return sum(a.nbytes for a in roots.values() if a.base is not None)  # base None: numpy's own, traced


def kept_records(session: InferenceSession, request: DecodeRequest, control: DecodeControl) -> list[StepRecord]:
    """Every StepRecord of a streamed decode, kept as the window keeps them."""
    control.begin(request.request_id)
    records: list[StepRecord] = []
    for item in session.decode_runs(request, control):
        if not isinstance(item, DecodeStart | DecodeResult):  # a run
            records.extend(item)
    return records


def peak_rss_rise(run: Callable[[], object]) -> int | None:
    """Bytes the process's peak RSS rose above its RSS before `run()` (Linux: the peak is reset first)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
        before = _status_kib("VmRSS")
        run()
        return (_status_kib("VmHWM") - before) * 1024
    except OSError:
        return None


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--big-repeats", type=int, default=10, help="repeats for the 512- and 1024-unit models")
    args = p.parse_args(argv)
    if not args.model.exists():
        print(f"error: no model at {args.model}; pass --model PATH", file=sys.stderr)
        return 2
    session = InferenceSession.open(args.model, args.device)
    prepare_thread(session.device)  # the bare loop runs with the engine's thread setting too
    print(f"model={args.model}")
    print(f"device={session.device}")
    print(f"threads={torch.get_num_threads()}")
    ratio, stream_ratio = measure(session, "long", LONG, args.repeats)
    print(f"engine_overhead_ratio={ratio:.3f}")
    print(f"streamed_overhead_ratio={stream_ratio:.3f}", flush=True)
    for hidden in HIDDEN_SIZES:
        measure_big(hidden, args.device, args.big_repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
