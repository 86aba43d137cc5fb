"""The checkpoint loader under fuzzing: hostile or broken files end in CheckpointError, quickly, never a crash.

A few hundred seeded mutants (tests/fuzz_checkpoint_loader.py runs thousands), the crash classes the
fuzzer found pinned as regressions, and arbitrary bytes from hypothesis.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from models.checkpoint import CheckpointError, load_checkpoint
from tests.fuzz_checkpoint_loader import MUTATIONS, TIME_BUDGET_S, Base, fuzz, make_bases, pack, with_meta

CASES = 240


@pytest.fixture(scope="module")
def bases() -> list[Base]:
    torch.set_num_threads(1)
    return make_bases()


def test_seeded_mutants_are_rejected_never_crash(bases: list[Base]) -> None:
    report = fuzz(CASES, seed=1, bases=bases)
    assert report.cases == CASES
    assert report.crashes == []
    assert report.over_budget == [] and report.worst_cpu[0] < TIME_BUDGET_S
    assert set(report.outcomes) == set(MUTATIONS)  # every class was tried...
    assert all(counts["rejected"] > 0 for counts in report.outcomes.values())  # ...and produced rejections
    for kind in ("truncated", "huge_header_length", "nan_inf", "wrong_dtype", "absurd_config", "vocab_mismatch"):
        assert report.outcomes[kind]["loaded"] == 0, kind  # these never leave a usable file


def _load(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    load_checkpoint(path)


def _meta(base: Base, **change: object) -> bytes:
    return with_meta(base, {**base.meta, **change})


def _config(base: Base, **change: object) -> bytes:
    return _meta(base, config=json.dumps({**json.loads(base.meta["config"]), **change}))


def _header_entry(base: Base, **change: object) -> bytes:
    header = json.loads(json.dumps(base.header))
    header["decoder.output.weight"].update(change)
    return pack(header, base.data[8 + struct.unpack("<Q", base.data[:8])[0] :])


# Each of these crashed the loader (RecursionError, ValueError, TypeError) or built huge meta models before the fix.
REGRESSIONS = {
    "deeply nested header": (lambda b: pack(None, b"", header_bytes=b"[" * 100_000 + b"]" * 100_000), "nested deeper"),
    "100k-digit number in header": (lambda b: pack(None, b"", header_bytes=b'{"a": ' + b"9" * 100_000 + b"}"), "JSON"),
    "deeply nested metadata": (lambda b: _meta(b, config="[" * 50_000 + "]" * 50_000), "config"),
    "5000-digit metadata": (lambda b: _meta(b, src_vocab="9" * 5000), "src_vocab"),
    "shape is a number": (lambda b: _header_entry(b, shape=12), "shape 12"),
    "shape is null": (lambda b: _header_entry(b, shape=None), "shape None"),
    "shape of floats": (lambda b: _header_entry(b, shape=[7.0, 12.0]), "shape"),
    "superscript version digit": (lambda b: _meta(b, format_version="²"), "not supported"),
    "config far larger than the file": (lambda b: _config(b, hidden_dim=2048, enc_layers=4), "at least"),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_fuzzer_findings_are_checkpoint_errors(case: str, bases: list[Base], tmp_path: Path) -> None:
    build, message = REGRESSIONS[case]
    with pytest.raises(CheckpointError, match=message):
        _load(build(bases[0]), tmp_path)


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
    key: str, value: object, bases: list[Base], tmp_path: Path
) -> None:
    original = json.loads(bases[0].meta["config"])[key]
    assume(not (value == original and type(value) is int))  # the one value that leaves the file valid
    with pytest.raises(CheckpointError):
        _load(_config(bases[0], **{key: value}), tmp_path)
