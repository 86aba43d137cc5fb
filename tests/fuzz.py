"""The long fuzz run: mutants of every model format (tests/fuzz_formats.py) opened by load_any in worker processes.

    python -m tests.fuzz --n 10000 --workers 2 --seed 0
    python -m tests.fuzz --seed 0 --case 4711        # replay one case here, with the traceback of a finding

Each worker imports torch and builds the valid models once, then loads case after case, each under a memory cap
(RLIMIT_AS: the worker's size after warm-up plus --memory-mib) and a timeout (--timeout, enforced by this
process). A worker that dies (a crash) or does not answer in time (a hang) is replaced and the run goes on.
Every load must end loaded or in a CheckpointError a loader raised on purpose ("clean"); an exception the loader
boundary had to convert (UnexpectedLoadError), or anything else, is an "other exception". Prints the cases tried,
each outcome per format and mutation class, every finding with its case number, and the peak memory; exits 1 on
any other exception, crash or hang.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 600
OUTCOMES = ("loaded", "clean", "other", "crash", "hang")


# -- one load (in a worker, in the CI test, or replayed) -----------------------------------------------------------


def load_outcome(path: Path) -> tuple[str, str]:
    """("loaded" | "clean" | "other", what happened) for opening `path` with load_any."""
    from models import CheckpointError, UnexpectedLoadError, load_any

    try:
        load_any(path)
    except UnexpectedLoadError as exc:  # the boundary caught what no loader anticipated
        cause = exc.__cause__
        return "other", f"{type(cause).__name__}: {str(cause)[:300]}" + _where(cause)
    except CheckpointError as exc:
        return "clean", str(exc)[:300]
    except Exception as exc:  # MemoryError included: a small file must never need that much
        return "other", f"{type(exc).__name__}: {str(exc)[:300]}" + _where(exc)
    return "loaded", ""


def _where(exc: BaseException | None) -> str:
    frames = traceback.extract_tb(exc.__traceback__) if exc is not None else []
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


# -- the worker -----------------------------------------------------------------------------------------------------


def _vm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def worker(seed: int, memory_mib: int) -> int:
    """Read case numbers from stdin; answer each with one JSON line on the original stdout."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to the log, not into the answers
    warnings.simplefilter("ignore")
    import torch

    from tests.fuzz_formats import make_bases, make_case

    torch.set_num_threads(1)
    bases = make_bases()
    cap = _vm_bytes() + memory_mib * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    folder = Path(tempfile.mkdtemp(prefix="attnscope-fuzz-"))
    answers.write(json.dumps({"ready": True, "rss": _peak_rss()}) + "\n")
    try:
        for line in sys.stdin:
            index = int(line)
            case = folder / "case"
            shutil.rmtree(case, ignore_errors=True)
            label, kind, path = make_case(seed, index, bases, case)
            before, start = _peak_rss(), time.perf_counter()
            outcome, detail = load_outcome(path)
            answer = {"index": index, "label": label, "kind": kind, "outcome": outcome, "detail": detail}
            answer.update(seconds=time.perf_counter() - start, rss=_peak_rss(), growth=_peak_rss() - before)
            answers.write(json.dumps(answer) + "\n")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


# -- the pool -------------------------------------------------------------------------------------------------------


@dataclass
class Worker:
    proc: subprocess.Popen[str]
    log: IO[str]
    index: int | None = None  # the case it is loading
    deadline: float = 0.0
    ready: bool = False


@dataclass
class Report:
    tried: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)  # "format/mutation" → outcome counts
    findings: list[str] = field(default_factory=list)
    peak_rss: int = 0
    warm_rss: int = 0
    worst_growth: tuple[int, str] = (0, "")
    worst_seconds: tuple[float, str] = (0.0, "")
    restarts: int = 0

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.outcomes.values())

    def add(self, kind: str, outcome: str, label: str, detail: str = "") -> None:
        self.tried += 1
        self.outcomes.setdefault(kind, Counter())[outcome] += 1
        if outcome in ("other", "crash", "hang"):
            self.findings.append(f"{outcome}: {label}: {detail}")


class Pool:
    """`count` worker processes running `command` (default: this module's worker), one case at a time each."""

    def __init__(
        self, count: int, seed: int, timeout: float, memory_mib: int, logs: Path, command: list[str] | None = None
    ) -> None:
        self.timeout, self.logs = timeout, logs
        self.command = command or [
            *(sys.executable, "-m", "tests.fuzz", "--worker"),
            *("--seed", str(seed), "--memory-mib", str(memory_mib)),
        ]
        self.selector = selectors.DefaultSelector()
        self.workers = [self._start(k) for k in range(count)]

    def _start(self, k: int) -> Worker:
        log = (self.logs / f"worker-{k}.log").open("a")
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        slot = Worker(proc, log, deadline=time.monotonic() + START_TIMEOUT_S)
        assert proc.stdout is not None
        self.selector.register(proc.stdout, selectors.EVENT_READ, (k, slot))
        return slot

    def _restart(self, k: int) -> None:
        old = self.workers[k]
        assert old.proc.stdout is not None
        self.selector.unregister(old.proc.stdout)
        if old.proc.poll() is None:
            old.proc.kill()
        old.proc.wait()
        old.log.close()
        self.workers[k] = self._start(k)

    def run(self, cases: list[int], report: Report, label_of: Any) -> None:
        todo = list(reversed(cases))
        while todo or any(w.index is not None for w in self.workers):
            for slot in self.workers:
                if slot.ready and slot.index is None and todo:
                    self._send(slot, todo.pop())
            timeout = max(0.0, min(w.deadline for w in self.workers) - time.monotonic())
            for key, _ in self.selector.select(timeout):
                k, slot = key.data
                self._read(k, slot, report, label_of)
            now = time.monotonic()
            for k, slot in enumerate(self.workers):
                if now > slot.deadline and (slot.index is not None or not slot.ready):
                    if slot.index is None:
                        raise RuntimeError(f"worker {k} did not start in {START_TIMEOUT_S} s (see {slot.log.name})")
                    kind, label = label_of(slot.index)
                    report.add(kind, "hang", label, f"no answer in {self.timeout:.0f} s")
                    report.restarts += 1
                    self._restart(k)

    def _send(self, slot: Worker, index: int) -> None:
        assert slot.proc.stdin is not None
        slot.index, slot.deadline = index, time.monotonic() + self.timeout
        slot.proc.stdin.write(f"{index}\n")
        slot.proc.stdin.flush()

    def _read(self, k: int, slot: Worker, report: Report, label_of: Any) -> None:
        assert slot.proc.stdout is not None
        line = slot.proc.stdout.readline()
        if not line:  # the worker died
            code = slot.proc.wait()
            if slot.index is None:
                raise RuntimeError(f"worker {k} exited with {code} while starting (see {slot.log.name})")
            kind, label = label_of(slot.index)
            report.add(kind, "crash", label, f"worker exited with {code}")
            report.restarts += 1
            self._restart(k)
            return
        answer = json.loads(line)
        report.peak_rss = max(report.peak_rss, answer["rss"])
        if answer.get("ready"):
            slot.ready, slot.deadline = True, float("inf")
            report.warm_rss = max(report.warm_rss, answer["rss"])
            return
        slot.index, slot.deadline = None, float("inf")
        report.add(answer["kind"], answer["outcome"], answer["label"], answer["detail"])
        report.worst_growth = max(report.worst_growth, (answer["growth"], answer["label"]))
        report.worst_seconds = max(report.worst_seconds, (answer["seconds"], answer["label"]))

    def close(self) -> None:
        for slot in self.workers:
            assert slot.proc.stdin is not None
            slot.proc.stdin.close()
        for slot in self.workers:
            try:
                slot.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                slot.proc.kill()
                slot.proc.wait()
            slot.log.close()


def fuzz(n: int, seed: int, workers: int, timeout: float, memory_mib: int, first: int = 0) -> Report:
    from tests.fuzz_formats import choose as choose_case
    from tests.fuzz_formats import make_bases

    bases = make_bases()  # only for the labels of cases that never answer (a crash or a hang)

    def label_of(index: int) -> tuple[str, str]:
        base, mutation, _ = choose_case(seed, index, bases)
        return f"{base.format}/{mutation}", f"case {index} ({mutation} on {base.name})"

    report = Report()
    logs = Path(tempfile.mkdtemp(prefix="attnscope-fuzz-logs-"))
    pool = Pool(workers, seed, timeout, memory_mib, logs)
    try:
        pool.run(list(range(first, first + n)), report, label_of)
    finally:
        pool.close()
    print(f"worker logs: {logs}", file=sys.stderr)
    return report


def print_report(report: Report, seed: int, workers: int, timeout: float, memory_mib: int, seconds: float) -> None:
    print(
        f"files tried: {report.tried:,} (seed {seed}, {workers} worker(s), timeout {timeout:g} s, "
        f"memory cap {memory_mib} MiB over each worker's warm size; {seconds / 60:.1f} min)"
    )
    counts = {o: report.total(o) for o in OUTCOMES}
    print(
        f"loaded: {counts['loaded']:,}   clean errors: {counts['clean']:,}   other exceptions: {counts['other']:,}   "
        f"crashes: {counts['crash']:,}   hangs: {counts['hang']:,}"
    )
    print(
        f"peak memory: {report.peak_rss / 1024**2:.0f} MiB RSS (workers after warm-up: "
        f"{report.warm_rss / 1024**2:.0f} MiB); largest growth in one load: {report.worst_growth[0] / 1024**2:.1f} MiB "
        f"({report.worst_growth[1]})"
    )
    print(
        f"slowest load: {report.worst_seconds[0] * 1000:.0f} ms ({report.worst_seconds[1]}); "
        f"worker restarts: {report.restarts}"
    )
    print(f"{'format/mutation':<36}" + "".join(f"{o:>9}" for o in OUTCOMES))
    for kind in sorted(report.outcomes):
        print(f"{kind:<36}" + "".join(f"{report.outcomes[kind][o]:>9}" for o in OUTCOMES))
    for line in report.findings[:50]:
        print(f"  {line}")


def replay(seed: int, index: int) -> int:
    """Case `index` in this process, with the traceback of anything but a clean error."""
    import torch

    from models import CheckpointError, load_any
    from tests.fuzz_formats import make_bases, make_case

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        label, kind, path = make_case(seed, index, make_bases(), Path(tmp) / "case")
        print(f"{label}: {path}")
        try:
            load_any(path)
        except CheckpointError as exc:
            print(f"{type(exc).__name__}: {exc}")
            if exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__)
            return 0
        print("loaded")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="how many files to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=0, help="the first case number")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one load may take")
    parser.add_argument("--memory-mib", type=int, default=1024, help="memory one load may add to a worker")
    parser.add_argument("--case", type=int, help="replay this one case in this process")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.seed, args.memory_mib)
    if args.case is not None:
        return replay(args.seed, args.case)
    start = time.perf_counter()
    report = fuzz(args.n, args.seed, args.workers, args.timeout, args.memory_mib, args.first)
    print_report(report, args.seed, args.workers, args.timeout, args.memory_mib, time.perf_counter() - start)
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
