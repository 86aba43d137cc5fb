"""Fuzz models.checkpoint.load_checkpoint with mutants of a valid small checkpoint.

    python -m tests.fuzz_checkpoint_loader --cases 10000 --seed 0
    python -m tests.fuzz_checkpoint_loader --seed 0 --case 4711      # replay one case, with its traceback

Every mutant must either load (the mutation left a valid model, e.g. one changed weight) or raise
CheckpointError; any other exception is a crash.  Each case is seeded from (seed, index), so a crash
is replayed exactly by its index.  Prints the cases tried, how each mutation class ended, the
crashes, and the worst time and Python-heap peak (tracemalloc) of a rejected file, plus how much
the process's peak RSS grew over the run (native allocations, e.g. torch's, that tracemalloc cannot see).
Exit status 1 on any crash or a case over the time or memory budget.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import struct
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from models import Checkpoint, CheckpointError, ModelConfig, Seq2Seq, Tokenizer, Vocab, load_checkpoint, save_checkpoint
from models.foreign import ForeignConfig, ForeignSeq2Seq, ForeignTokenizer

TIME_BUDGET_S = 2.0  # per case
HEAP_BUDGET_BYTES = 64 * 1024**2  # per case, Python heap
RSS_BUDGET_BYTES = 512 * 1024**2  # growth of the process's peak RSS over the whole run
REQUIRED = ("format", "format_version", "config", "src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer")
DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64, "I64": torch.int64, "U8": torch.uint8}


# -- the valid starting points -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """A valid checkpoint: its bytes, and its header and weights taken apart."""

    name: str
    data: bytes
    header: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    @property
    def meta(self) -> dict[str, str]:
        return dict(self.header["__metadata__"])


def make_bases() -> list[Base]:
    """A native Bahdanau GRU and an imported (JoeyNMT-style) LSTM, both a few thousand weights."""
    torch.manual_seed(0)
    src = Vocab.build([["turn", "off", "the", "lights", "now"]])
    tgt = Vocab.build([["लाइट", "बंद", "करो", "अभी"]])
    native = Checkpoint(
        Seq2Seq(ModelConfig(len(src), len(tgt), embed_dim=8, hidden_dim=12, attn_dim=10)),
        src,
        tgt,
        Tokenizer(),
        Tokenizer(),
        {"seed": 3},
        "# card",
    )
    foreign_config = ForeignConfig(
        len(src), len(tgt), embed_dim=6, hidden_dim=10, attn_dim=8, rnn="lstm", enc_hidden_dim=5, tgt_embed_dim=7
    )
    foreign_tok = ForeignTokenizer(kind="word", lowercase=True, scheme="joeynmt", append_eos=True)
    foreign = Checkpoint(ForeignSeq2Seq(foreign_config), src, tgt, foreign_tok, foreign_tok)
    return [_base("native", native), _base("foreign", foreign)]


def _base(name: str, ckpt: Checkpoint) -> Base:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.safetensors"
        save_checkpoint(ckpt, path)
        data = canonical(path.read_bytes())
    load_checkpoint_bytes(data)  # the base itself must load
    (length,) = struct.unpack("<Q", data[:8])
    return Base(name, data, json.loads(data[8 : 8 + length]), dict(st_load(data)))


def load_checkpoint_bytes(data: bytes) -> Checkpoint:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.safetensors"
        path.write_bytes(data)
        return load_checkpoint(path)


# -- building files ----------------------------------------------------------------------------------------------


def pack(header: Any, body: bytes, header_bytes: bytes | None = None) -> bytes:
    """A safetensors file: u64 header length, header JSON (keys sorted) padded to 8 bytes, data."""
    raw = header_bytes if header_bytes is not None else json.dumps(header, sort_keys=True).encode("ascii")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def body_of(data: bytes) -> bytes:
    (length,) = struct.unpack("<Q", data[:8])
    return data[8 + length :]


def canonical(data: bytes) -> bytes:
    """The same file with its header keys sorted: safetensors writes metadata in a per-process random order,
    and a byte flip at a given offset must hit the same field in every run for a case to replay."""
    (length,) = struct.unpack("<Q", data[:8])
    return pack(json.loads(data[8 : 8 + length]), data[8 + length :])


def resave(tensors: dict[str, torch.Tensor], meta: dict[str, str] | None = None) -> bytes:
    """A well-formed file (offsets consistent) with these weights and metadata."""
    return canonical(bytes(st_save({k: v.contiguous() for k, v in tensors.items()}, meta)))


def with_meta(base: Base, meta: Any) -> bytes:
    """The base's weights under different metadata (any JSON, even not an object: the header is written by hand)."""
    header = {k: v for k, v in base.header.items() if k != "__metadata__"}
    header["__metadata__"] = meta
    return pack(header, body_of(base.data))


def tensor_name(rng: random.Random, base: Base) -> str:
    return rng.choice(sorted(base.tensors))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- mutation classes: each returns the bytes of one mutant ------------------------------------------------------


def truncated(rng: random.Random, base: Base) -> bytes:
    data = base.data
    (length,) = struct.unpack("<Q", data[:8])
    cut = rng.choice([0, 1, 7, 8, 9, 8 + length // 2, 8 + length, 8 + length + 1, len(data) - 1])
    return data[: rng.randrange(len(data))] if rng.random() < 0.5 else data[:cut]


def flipped_bytes(rng: random.Random, base: Base) -> bytes:
    data = bytearray(base.data)
    (length,) = struct.unpack("<Q", data[:8])
    region = rng.choice([(0, 8), (8, 8 + length), (8 + length, len(data)), (0, len(data))])
    for _ in range(rng.choice([1, 1, 2, 4, 16, 64])):
        i = rng.randrange(*region)
        data[i] ^= rng.randrange(1, 256)
    return bytes(data)


def huge_header_length(rng: random.Random, base: Base) -> bytes:
    rest = base.data[8:]
    value = rng.choice(
        [2**64 - 1, 2**63, 2**32, 64 * 1024**2 + 1, len(rest) + 1, len(rest) * 1000, rng.randrange(len(rest), 2**64)]
    )
    return struct.pack("<Q", value) + rest


def header_garbage(rng: random.Random, base: Base) -> bytes:
    """The header replaced by something that is not a safetensors header."""
    choices: list[Callable[[], bytes]] = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
        lambda: b"\xff\xfe{" + b"\x00" * 30,
        lambda: b"[]",
        lambda: b"null",
        lambda: b'"a string"',
        lambda: b"{}",
        lambda: b'{"__metadata__": {}}',
        lambda: nested(rng.choice([1000, 100_000])).encode(),
        lambda: b'{"a": ' + b"9" * rng.choice([100, 5000, 100_000]) + b"}",
        lambda: b'{"a": 1e999999, "b": NaN, "c": -Infinity}',
        lambda: b'{"__metadata__": ' + nested(50_000).encode() + b"}",
        lambda: json.dumps({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode(),
        lambda: b'{"\\ud800": 1}',
    ]
    raw = rng.choice(choices)()
    return pack(None, body_of(base.data), header_bytes=raw)


def wrong_dtype(rng: random.Random, base: Base) -> bytes:
    name = tensor_name(rng, base)
    if rng.random() < 0.5:  # well-formed: the data really has that dtype
        tensors = dict(base.tensors)
        tensors[name] = tensors[name].to(DTYPES[rng.choice(sorted(DTYPES))])
        return resave(tensors, base.meta)
    header = json.loads(json.dumps(base.header))  # only the header lies about the dtype
    header[name]["dtype"] = rng.choice(["F16", "F64", "I64", "BOOL", "f32", "F32 ", "", "F8_E4M3", 32, None, ["F32"]])
    return pack(header, body_of(base.data))


def wrong_shape(rng: random.Random, base: Base) -> bytes:
    name = tensor_name(rng, base)
    if rng.random() < 0.5:  # well-formed: a tensor of another shape
        tensors = dict(base.tensors)
        shape = list(tensors[name].shape)
        options = [shape[::-1], [*shape, 1], shape[1:] or [2], [d + rng.choice([-1, 1]) or 2 for d in shape], [0]]
        tensors[name] = torch.zeros(rng.choice([s for s in options if s != shape]))
        return resave(tensors, base.meta)
    header = json.loads(json.dumps(base.header))
    header[name]["shape"] = rng.choice(
        [[], [-1], [10**9, 10**9], [2**64], [1.5], ["12"], "12", 12, None, {"0": 1}, [True], [10**6] * 8]
    )
    return pack(header, body_of(base.data))


def bad_offsets(rng: random.Random, base: Base) -> bytes:
    header = json.loads(json.dumps(base.header))
    entry = header[tensor_name(rng, base)]
    start, end = entry["data_offsets"]
    entry["data_offsets"] = rng.choice(
        [[end, start], [start, end + 4], [0, 4], [start, 2**64], [-4, end], [start], None, "0,4", [start, end, 0]]
    )
    return pack(header, body_of(base.data))


def nan_inf(rng: random.Random, base: Base) -> bytes:
    tensors = {k: v.clone() for k, v in base.tensors.items()}
    for _ in range(rng.choice([1, 1, 3])):
        flat = tensors[tensor_name(rng, base)].view(-1)
        flat[rng.randrange(flat.numel())] = rng.choice([math.nan, math.inf, -math.inf])
    return resave(tensors, base.meta)


def vocab_mismatch(rng: random.Random, base: Base) -> bytes:
    meta = base.meta
    key = rng.choice(["src_vocab", "tgt_vocab"])
    items: list[Any] = json.loads(meta[key])
    edit = rng.choice(["drop", "add", "duplicate", "non-string", "no specials", "swap specials", "empty", "resize"])
    if edit == "drop":
        items = items[: -rng.randint(1, len(items) - 1)]
    elif edit == "add":
        items += [f"extra{i}" for i in range(rng.choice([1, 5, 1000]))]
    elif edit == "duplicate":
        items.append(items[-1])
    elif edit == "non-string":
        items[rng.randrange(len(items))] = rng.choice([1, None, ["x"], {"a": 1}, 2.5])
    elif edit == "no specials":
        items = items[4:] + items[:4]
    elif edit == "swap specials":
        items[0], items[1] = items[1], items[0]
    elif edit == "empty":
        items = []
    else:  # vocabulary and config agree, the embedding does not
        items += ["extra"]
        config = json.loads(meta["config"])
        config["src_vocab_size" if key == "src_vocab" else "tgt_vocab_size"] = len(items)
        meta["config"] = json.dumps(config)
    meta[key] = json.dumps(items, ensure_ascii=False)
    return resave(base.tensors, meta)


def metadata_missing(rng: random.Random, base: Base) -> bytes:
    meta: dict[str, Any] = base.meta
    choice = rng.randrange(4)
    if choice == 0:
        for key in rng.sample(REQUIRED, rng.randint(1, len(REQUIRED))):
            del meta[key]
        return resave(base.tensors, meta)
    if choice == 1:
        return resave(base.tensors, {})
    if choice == 2:
        return resave(base.tensors)  # no __metadata__ at all
    return with_meta(base, rng.choice([[], "attnscope", None, 1, [["format", "attnscope"]]]))


MALFORMED_VALUES: list[Any] = [
    "",
    "{broken",
    "null",
    "[]",
    "{}",
    '"text"',
    "1",
    "NaN",
    nested(100_000),
    "9" * 5000,
    '{"a": ' + nested(20_000) + "}",
    1,
    None,
    ["x"],
    {"kind": "word"},
    "\ud800",
]


def metadata_malformed(rng: random.Random, base: Base) -> bytes:
    meta: dict[str, Any] = base.meta
    key = rng.choice([*REQUIRED, "training", "card"])
    if key == "format_version":
        meta[key] = rng.choice(["0", "2", "-1", "1.0", " 1", "²", "٣", "१", "1" * 5000, "", 1, None])
    elif key == "format":
        meta[key] = rng.choice(["other", "ATTNSCOPE", "", 1, None, ["attnscope"]])
    elif key.endswith("_tokenizer") and rng.random() < 0.5:
        spec = rng.choice(
            [
                {"kind": "bpe"},
                {"kind": 5},
                {"kind": ["word"]},
                {"scheme": "x"},
                {"scheme": None, "kind": "word"},
                {"scheme": "joeynmt", "kind": {"a": 1}},
                {"lowercase": "no", "kind": "char"},
                {"kind": "word", "extra": nested(100)},
            ]
        )
        meta[key] = json.dumps(spec)
    else:
        meta[key] = rng.choice(MALFORMED_VALUES)
    return with_meta(base, meta)


ABSURD: list[tuple[str, Any]] = [
    ("hidden_dim", 10**9),
    ("hidden_dim", 8192),
    ("embed_dim", 8192),
    ("enc_layers", 10**6),
    ("dec_layers", 16),
    ("enc_layers", 16),
    ("src_vocab_size", 10**12),
    ("tgt_vocab_size", 2_000_000),
    ("attn_dim", 8192),
    ("hidden_dim", -1),
    ("hidden_dim", 0),
    ("hidden_dim", 1.5),
    ("hidden_dim", "128"),
    ("hidden_dim", True),
    ("hidden_dim", None),
    ("hidden_dim", [12]),
    ("hidden_dim", 2**80),
    ("dropout", math.nan),
    ("dropout", math.inf),
    ("dropout", 1e308),
    ("dropout", -0.5),
    ("dropout", "0"),
    ("rnn", "transformer"),
    ("rnn", ["gru"]),
    ("attention", "magic"),
    ("attention", {"a": 1}),
    ("attention", "luong-dot"),
    ("bidirectional", "yes"),
    ("bidirectional", 1),
    ("toolkit", "fairseq"),
    ("toolkit", "opennmt-py"),
    ("never_generate", 5),
    ("never_generate", list(range(10**5))),
    ("never_generate", [-1]),
    ("never_generate", ["x"]),
    ("init", "final"),
    ("query", "prev"),
    ("att_vector", "[c;s]"),
    ("enc_hidden_dim", 10**9),
    ("tgt_embed_dim", 0),
    ("rogue_key", 1),
]


def absurd_config(rng: random.Random, base: Base) -> bytes:
    meta = base.meta
    config = json.loads(meta["config"])
    for key, value in rng.sample(ABSURD, rng.choice([1, 1, 2, 3])):
        config[key] = value
    if rng.random() < 0.1:
        del config[rng.choice(sorted(config))]
    meta["config"] = json.dumps(config, allow_nan=True)
    return resave(base.tensors, meta)


def extra_or_missing_tensor(rng: random.Random, base: Base) -> bytes:
    tensors = dict(base.tensors)
    if rng.random() < 0.5:
        del tensors[tensor_name(rng, base)]
    else:
        tensors[rng.choice(["rogue", "encoder.embed.weight.x", "decoder.output.bias2"])] = torch.zeros(3)
    return resave(tensors, base.meta)


def combined(rng: random.Random, base: Base) -> bytes:
    """A structural mutation, then a few flipped bytes on top."""
    first = rng.choice([wrong_dtype, wrong_shape, vocab_mismatch, metadata_malformed, absurd_config, nan_inf])
    mutant = bytearray(first(rng, base))
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(mutant))
        mutant[i] ^= rng.randrange(1, 256)
    return bytes(mutant)


MUTATIONS: dict[str, Callable[[random.Random, Base], bytes]] = {
    f.__name__: f
    for f in (
        truncated,
        flipped_bytes,
        huge_header_length,
        header_garbage,
        wrong_dtype,
        wrong_shape,
        bad_offsets,
        nan_inf,
        vocab_mismatch,
        metadata_missing,
        metadata_malformed,
        absurd_config,
        extra_or_missing_tensor,
        combined,
    )
}


# -- running -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One load: how it ended, its CPU and wall-clock seconds, its Python-heap peak, and the crash if any."""

    outcome: str  # "rejected", "loaded" or "crash"
    cpu: float  # this thread's CPU time: what the loader costs, whatever else the machine is running
    wall: float
    heap: int
    error: BaseException | None = None


@dataclass
class Report:
    cases: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)  # class → {"rejected": n, "loaded": n, ...}
    crashes: list[str] = field(default_factory=list)
    over_budget: list[str] = field(default_factory=list)
    worst_cpu: tuple[float, str] = (0.0, "")
    worst_wall: tuple[float, str] = (0.0, "")
    worst_heap: tuple[int, str] = (0, "")
    rss_growth: int = 0

    def record(self, case: str, kind: str, m: Measure) -> None:
        self.cases += 1
        self.outcomes.setdefault(kind, Counter())[m.outcome] += 1
        if m.error is not None:
            self.crashes.append(f"{case}: {type(m.error).__name__}: {str(m.error)[:200]}")
        if m.outcome == "rejected":
            self.worst_cpu = max(self.worst_cpu, (m.cpu, case))
            self.worst_wall = max(self.worst_wall, (m.wall, case))
            self.worst_heap = max(self.worst_heap, (m.heap, case))
        if m.cpu > TIME_BUDGET_S or m.heap > HEAP_BUDGET_BYTES:
            self.over_budget.append(f"{case}: {m.cpu:.2f} s CPU, {m.heap / 1024**2:.1f} MiB")

    @property
    def ok(self) -> bool:
        return not self.crashes and not self.over_budget and self.rss_growth <= RSS_BUDGET_BYTES


def case_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"attnscope-fuzz:{seed}:{index}")


def mutant(seed: int, index: int, bases: list[Base]) -> tuple[str, str, bytes]:
    """(case label, mutation class, bytes) of case `index`: the same every time for the same seed."""
    rng = case_rng(seed, index)
    base = rng.choice(bases)
    kind = rng.choice(sorted(MUTATIONS))
    return f"case {index} ({kind} on {base.name})", kind, MUTATIONS[kind](rng, base)


def run_case(path: Path, data: bytes) -> Measure:
    """Load `data` from `path`, measured."""
    path.write_bytes(data)
    tracemalloc.reset_peak()
    start_heap = tracemalloc.get_traced_memory()[0]
    start_cpu, start_wall = time.thread_time(), time.perf_counter()
    outcome, error = "loaded", None
    try:
        load_checkpoint(path)
    except CheckpointError:
        outcome = "rejected"
    except Exception as exc:  # anything else is what the fuzzer is looking for
        outcome, error = "crash", exc
    cpu, wall = time.thread_time() - start_cpu, time.perf_counter() - start_wall
    return Measure(outcome, cpu, wall, tracemalloc.get_traced_memory()[1] - start_heap, error)


def fuzz(cases: int, seed: int, first: int = 0, bases: list[Base] | None = None) -> Report:
    torch.set_num_threads(1)
    bases = bases or make_bases()
    report = Report()
    rss_before = _peak_rss()
    tracemalloc.start()
    try:
        with tempfile.TemporaryDirectory(prefix="attnscope-fuzz-") as tmp:
            path = Path(tmp) / "mutant.safetensors"
            for index in range(first, first + cases):
                label, kind, data = mutant(seed, index, bases)
                report.record(label, kind, run_case(path, data))
    finally:
        tracemalloc.stop()
    report.rss_growth = _peak_rss() - rss_before
    return report


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def print_report(report: Report, seed: int) -> None:
    print(f"cases tried: {report.cases} (seed {seed})")
    print(f"{'mutation class':<24}{'rejected':>10}{'loaded':>10}{'crash':>8}")
    for kind in sorted(report.outcomes):
        counts = report.outcomes[kind]
        print(f"{kind:<24}{counts['rejected']:>10}{counts['loaded']:>10}{counts['crash']:>8}")
    total = sum(report.outcomes.values(), Counter())
    print(f"{'total':<24}{total['rejected']:>10}{total['loaded']:>10}{total['crash']:>8}")
    print(f"crashes: {len(report.crashes)}")
    for line in report.crashes[:20]:
        print(f"  {line}")
    seconds, case = report.worst_cpu
    print(f"worst CPU time of a rejected file: {seconds * 1000:.1f} ms ({case})")
    seconds, case = report.worst_wall
    print(f"worst wall time of a rejected file: {seconds * 1000:.1f} ms ({case}; includes waiting for a busy CPU)")
    heap, case = report.worst_heap
    print(f"worst Python-heap peak of a rejected file: {heap / 1024**2:.2f} MiB ({case})")
    print(f"peak RSS growth over the run: {report.rss_growth / 1024**2:.1f} MiB")
    for line in report.over_budget[:20]:
        print(f"over budget: {line}")


def replay(seed: int, index: int) -> int:
    """Run one case in the open, so a crash shows its traceback."""
    label, _, data = mutant(seed, index, make_bases())
    print(f"{label}: {len(data)} bytes")
    try:
        load_checkpoint_bytes(data)
    except CheckpointError as exc:
        print(f"rejected: {exc}")
        return 0
    print("loaded")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_checkpoint_loader", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", type=int, help="replay this one case (with a traceback if it crashes)")
    args = parser.parse_args(argv)
    if args.case is not None:
        return replay(args.seed, args.case)
    report = fuzz(args.cases, args.seed)
    print_report(report, args.seed)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
