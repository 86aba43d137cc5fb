"""What does the engine cost on top of the model? Greedy decoding two ways, per step.

    python benchmarks/engine_overhead.py [--model PATH] [--device cpu] [--repeats 30]

"engine": InferenceSession.run with every StepRecord (top-k, α, e, c, s, entropy) and the final
DecodeResult materialised.  No one watches run()'s steps, so it turns the whole decode into records
at the end, in one copy.  "streamed": InferenceSession.decode_runs with a DecodeControl attached, as the
app's engine thread runs it (free-running: steps handed out in runs of about a frame, ~15 ms, each run
one host copy; the app sends each run to the window as one signal).
"bare": encode + init_state + the same number of model.decode_step calls with argmax feedback and
nothing kept.  All three run on one thread with one intra-op thread (the engine's setting),
interleaved; per-step times are medians over the repeats, and a ratio is the median of the repeats'
engine/bare ratios (each pair ran back to back, on the same machine speed).

Per-step times are wall-clock; on the CPU the ratio is also given in thread CPU time, which
other processes competing for the cores disturb far less.  Prints one `name=value` line per
figure; `engine_overhead_ratio` is the larger of the two inputs' engine/bare wall-clock ratios
(target ≤ 1.15), `streamed_overhead_ratio` the same for the streamed decode.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine import (
    DecodeControl,  # noqa: E402
    DecodeRequest,  # noqa: E402
    InferenceSession,  # noqa: E402
    prepare_thread,  # noqa: E402
)
from engine.inspect_cli import DEFAULT_MODEL  # noqa: E402
from models import BOS_ID  # noqa: E402

SHORT = "turn off the lights"
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


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args(argv)
    if not args.model.exists():
        print(f"error: no model at {args.model}; pass --model PATH", file=sys.stderr)
        return 2
    session = InferenceSession.open(args.model, args.device)
    prepare_thread(session.device)  # the bare loop runs with the engine's thread setting too
    print(f"model={args.model}")
    print(f"device={session.device}")
    print(f"threads={torch.get_num_threads()}")
    ratios = [measure(session, name, text, args.repeats) for name, text in (("short", SHORT), ("long", LONG))]
    print(f"engine_overhead_ratio={max(r[0] for r in ratios):.3f}")
    print(f"streamed_overhead_ratio={max(r[1] for r in ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
