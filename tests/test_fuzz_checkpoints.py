"""Every model format under fuzzing: hostile or broken files load or end in a CheckpointError a loader raised on
purpose, never anything else (about a minute; `python -m tests.fuzz --n 10000` is the long run).

Every mutation class of every format (tests/fuzz_formats.py) a few times over, hypothesis exploring them further,
the findings of the fuzzers pinned as regressions, and arbitrary bytes and config values from hypothesis.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from models import CheckpointError, load_checkpoint
from tests.fuzz import Pool, Report, load_outcome
from tests.fuzz_formats import (
    FORMATS,
    MUTATIONS,
    Base,
    StBase,
    make_bases,
    make_case,
    nested,
    pack,
    rezip,
    with_meta,
    write_model,
)

SWEEP_SEED = 1
PAIRS = [(fmt, mutation) for fmt in FORMATS for mutation in sorted(MUTATIONS[fmt])]
PER_PAIR = 4


@pytest.fixture(scope="module")
def bases() -> list[Base]:
    torch.set_num_threads(1)
    return make_bases()


@pytest.fixture(scope="module")
def st_base(bases: list[Base]) -> StBase:
    found: StBase = bases[0].parsed["st"]
    return found


def _outcome(base: Base, mutation: str, rng: random.Random, folder: Path) -> tuple[str, str]:
    shutil.rmtree(folder, ignore_errors=True)
    path = write_model(base, MUTATIONS[base.format][mutation](rng, base), folder)
    return load_outcome(path)


def test_every_mutation_class_of_every_format(bases: list[Base], tmp_path: Path) -> None:
    """Each class a few times on each of its format's models: loaded or clean errors only, and each format's
    classes produce clean errors (a flipped byte in a weight's data can leave a valid model)."""
    clean: dict[str, int] = {}
    for fmt, mutation in PAIRS:
        for k in range(PER_PAIR):
            candidates = [b for b in bases if b.format == fmt]
            base = candidates[k % len(candidates)]
            outcome, detail = _outcome(
                base, mutation, random.Random(f"sweep:{SWEEP_SEED}:{fmt}:{mutation}:{k}"), tmp_path
            )
            assert outcome in ("loaded", "clean"), f"{fmt}/{mutation} #{k} on {base.name}: {detail}"
            clean[fmt] = clean.get(fmt, 0) + (outcome == "clean")
    assert all(clean[fmt] > len(MUTATIONS[fmt]) * PER_PAIR // 2 for fmt in FORMATS), clean


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.sampled_from(PAIRS), seed=st.integers(0, 2**32 - 1), which=st.integers(0, 7))
def test_hypothesis_explores_every_format(
    pair: tuple[str, str], seed: int, which: int, bases: list[Base], tmp_path: Path
) -> None:
    fmt, mutation = pair
    candidates = [b for b in bases if b.format == fmt]
    outcome, detail = _outcome(candidates[which % len(candidates)], mutation, random.Random(seed), tmp_path / "case")
    assert outcome in ("loaded", "clean"), detail


def test_the_long_run_replays_the_same_files(bases: list[Base], tmp_path: Path) -> None:
    """A case number is all a finding needs: the same seed and number write the same files."""
    first = make_case(0, 4711, bases, tmp_path / "a")
    again = make_case(0, 4711, bases, tmp_path / "b")
    assert first[:2] == again[:2]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
        for f in files
        if (tmp_path / "a" / f).is_file()
    )


FAKE_WORKER = """
import json, os, signal, sys, time
print(json.dumps({"ready": True, "rss": 1}), flush=True)
for line in sys.stdin:
    index = int(line)
    if index == 1:
        os.kill(os.getpid(), signal.SIGSEGV)
    if index == 2:
        time.sleep(60)
    print(json.dumps({"index": index, "label": f"case {index}", "kind": "fake/x", "outcome": "clean", "detail": "",
                      "seconds": 0.0, "rss": 2, "growth": 0}), flush=True)
"""


def test_the_pool_replaces_workers_that_crash_or_hang(tmp_path: Path) -> None:
    """The long run's pool, with a stand-in worker: case 1 kills it (SIGSEGV), case 2 never answers."""
    report = Report()
    pool = Pool(2, 0, 3.0, 0, tmp_path, command=[sys.executable, "-c", FAKE_WORKER])
    try:
        pool.run(list(range(8)), report, lambda i: ("fake/x", f"case {i}"))
    finally:
        pool.close()
    assert report.tried == 8 and report.restarts == 2
    assert report.outcomes["fake/x"] == {"clean": 6, "crash": 1, "hang": 1}
    assert sorted(report.findings) == ["crash: case 1: worker exited with -11", "hang: case 2: no answer in 3 s"]


# -- the fuzzers' findings, pinned --------------------------------------------------------------------------------


def _load(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    load_checkpoint(path)


def _meta(base: StBase, **change: object) -> bytes:
    return with_meta(base, {**base.meta, **change})


def _config(base: StBase, **change: object) -> bytes:
    return _meta(base, config=json.dumps({**json.loads(base.meta["config"]), **change}))


def _header_entry(base: StBase, **change: object) -> bytes:
    header = json.loads(json.dumps(base.header))
    header["decoder.output.weight"].update(change)
    return pack(header, base.data[8 + struct.unpack("<Q", base.data[:8])[0] :])


def _many_tensors(base: StBase) -> bytes:
    entries = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(5000)}
    return pack(entries, b"")


# Each of these crashed the loader (RecursionError, ValueError, TypeError) or built huge meta models before the fix.
REGRESSIONS = {
    "deeply nested header": (lambda b: pack(None, b"", header_bytes=nested(100_000).encode()), "nested deeper"),
    "100k-digit number in header": (lambda b: pack(None, b"", header_bytes=b'{"a": ' + b"9" * 100_000 + b"}"), "JSON"),
    "deeply nested metadata": (lambda b: _meta(b, config=nested(50_000)), "config"),
    "5000-digit metadata": (lambda b: _meta(b, src_vocab="9" * 5000), "src_vocab"),
    "shape is a number": (lambda b: _header_entry(b, shape=12), "shape 12"),
    "shape is null": (lambda b: _header_entry(b, shape=None), "shape None"),
    "shape of floats": (lambda b: _header_entry(b, shape=[7.0, 12.0]), "shape"),
    "superscript version digit": (lambda b: _meta(b, format_version="²"), "not supported"),
    "config far larger than the file": (lambda b: _config(b, hidden_dim=2048, enc_layers=4), "at least"),
    "5,000 tensors listed": (_many_tensors, "more than the limit of 4,096"),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_fuzzer_findings_are_checkpoint_errors(case: str, st_base: StBase, tmp_path: Path) -> None:
    build, message = REGRESSIONS[case]
    with pytest.raises(CheckpointError, match=message):
        _load(build(st_base), tmp_path)


def _zip_version(data: bytes) -> bytes:
    """The first central-directory entry claims zip version 13.5 (Python's zipfile raised NotImplementedError)."""
    at = data.index(b"PK\x01\x02")
    return data[: at + 6] + struct.pack("<H", 135) + data[at + 8 :]


def _onmt_case(bases: list[Base], change: str, tmp_path: Path) -> Path:
    base = next(b for b in bases if b.format == "opennmt-py")
    ckpt = dict(base.parsed["model.pt"])
    if change == "transforms":
        opt = type(ckpt["opt"])(**vars(ckpt["opt"]))
        opt.transforms = 1.5  # set(1.5) raised TypeError
        ckpt["opt"] = opt
        torch.save(ckpt, tmp_path / "m.pt")
    else:
        (tmp_path / "m.pt").write_bytes(_zip_version(base.files["model.pt"]))
    return tmp_path / "m.pt"


@pytest.mark.parametrize(
    ("change", "ends"), [("transforms", "clean: m.pt: OpenNMT-py transforms should be a list"), ("zip", "loaded: ")]
)
def test_toolkit_findings_are_handled(change: str, ends: str, bases: list[Base], tmp_path: Path) -> None:
    """The zip version is refused by Python's zipfile (the member count check) but not by torch: the file loads."""
    outcome, detail = load_outcome(_onmt_case(bases, change, tmp_path))
    assert f"{outcome}: {detail}".startswith(ends), detail


def test_a_damaged_record_in_a_valid_archive(bases: list[Base], tmp_path: Path) -> None:
    base = next(b for b in bases if b.format == "pytorch-tutorial")
    data = rezip(base.files["encoder.pt"], lambda name, b: None if name.endswith("data/0") else b)
    changes: dict[str, bytes | None] = {"encoder.pt": data}
    assert load_outcome(write_model(base, changes, tmp_path / "t"))[0] == "clean"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.binary(max_size=300), body=st.binary(max_size=64), length=st.none() | st.integers(0, 2**64 - 1))
def test_arbitrary_bytes_are_checkpoint_errors(header: bytes, body: bytes, length: int | None, tmp_path: Path) -> None:
    prefix = struct.pack("<Q", len(header) if length is None else length)
    with pytest.raises(CheckpointError):
        _load(prefix + header + body, tmp_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["hidden_dim", "embed_dim", "enc_layers", "dec_layers", "src_vocab_size", "attn_dim"]),
    value=st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=5), st.booleans()),
)
def test_arbitrary_config_values_are_checkpoint_errors(
    key: str, value: object, st_base: StBase, tmp_path: Path
) -> None:
    original = json.loads(st_base.meta["config"])[key]
    assume(not (value == original and type(value) is int))  # the one value that leaves the file valid
    with pytest.raises(CheckpointError):
        _load(_config(st_base, **{key: value}), tmp_path)
