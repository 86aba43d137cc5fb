"""Mutants of every model format attnscope opens, for the fuzzers (tests/fuzz.py, tests/test_fuzz_checkpoints.py).

Each format starts from valid models (our .safetensors files made here; JoeyNMT, OpenNMT-py and tutorial models
from tests/data/, made by the toolkits) and has its own mutation classes: bytes flipped, files truncated or
removed, header and config fields set to hostile values, nesting, numbers, missing and extra tensors, damaged
pickles. `make_case(seed, index, bases, folder)` writes case `index` under `folder` and returns what to open;
the same (seed, index) always gives the same files, so any finding replays by its index.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import random
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from models import Checkpoint, ModelConfig, Seq2Seq, Tokenizer, Vocab, save_checkpoint
from models.foreign import ForeignConfig, ForeignSeq2Seq, ForeignTokenizer

DATA = Path(__file__).parent / "data"
FORMATS = ("attnscope", "joeynmt", "opennmt-py", "pytorch-tutorial")
REQUIRED = ("format", "format_version", "config", "src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer")
DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64, "I64": torch.int64, "U8": torch.uint8}

Files = dict[str, bytes]
Changes = dict[str, bytes | None]  # relative path → new content, None: the file is removed


@dataclass(frozen=True)
class StBase:
    """A valid attnscope checkpoint: its bytes, and its header and weights taken apart."""

    name: str
    data: bytes
    header: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    @property
    def meta(self) -> dict[str, str]:
        return dict(self.header["__metadata__"])


@dataclass(frozen=True)
class Base:
    """A valid model of one format: its files, what load_any is given, and the parsed forms mutations start from."""

    format: str
    name: str
    files: Files
    opens: str  # relative path handed to load_any ("." for the folder)
    parsed: dict[str, Any] = field(default_factory=dict)


# -- building safetensors files -----------------------------------------------------------------------------------


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


def with_meta(base: StBase, meta: Any) -> bytes:
    """The base's weights under different metadata (any JSON, even not an object: the header is written by hand)."""
    header = {k: v for k, v in base.header.items() if k != "__metadata__"}
    header["__metadata__"] = meta
    return pack(header, body_of(base.data))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- the valid starting points ------------------------------------------------------------------------------------


def make_bases() -> list[Base]:
    """Two attnscope models (native Bahdanau GRU, imported-style LSTM), the toolkits' models from tests/data/."""
    return [
        *_attnscope_bases(),
        *(_joey_base(name) for name in ("gru_bahdanau", "lstm_luong")),
        *(_onmt_base(name) for name in ("brnn_gru_mlp", "rnn_lstm_general", "brnn_lstm_dot")),
        _tutorial_base(),
    ]


def st_bases() -> list[StBase]:
    return [b.parsed["st"] for b in _attnscope_bases()]


def _attnscope_bases() -> list[Base]:
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
    bases = []
    for name, ckpt in (("native", native), ("foreign", foreign)):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.safetensors"
            save_checkpoint(ckpt, path)
            data = canonical(path.read_bytes())
        (length,) = struct.unpack("<Q", data[:8])
        st = StBase(name, data, json.loads(data[8 : 8 + length]), dict(st_load(data)))
        bases.append(
            Base("attnscope", f"attnscope/{name}", {"model.safetensors": data}, "model.safetensors", {"st": st})
        )
    return bases


def _load_torch(data: bytes) -> Any:
    with torch.serialization.safe_globals([argparse.Namespace]):
        return torch.load(io.BytesIO(data), weights_only=True)


def _joey_base(name: str) -> Base:
    folder = DATA / "joeynmt" / name
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "reference.json" and not p.is_symlink()}
    ckpt = _load_torch(files["500.ckpt"])
    parsed = {"config": yaml.safe_load(files["config.yaml"]), "500.ckpt": {"model_state": ckpt["model_state"]}}
    return Base("joeynmt", f"joeynmt/{name}", files, ".", parsed)


def _onmt_base(name: str) -> Base:
    data = (DATA / "opennmt" / name / "model.pt").read_bytes()
    return Base("opennmt-py", f"opennmt/{name}", {"model.pt": data}, "model.pt", {"model.pt": _load_torch(data)})


def _tutorial_base() -> Base:
    folder = DATA / "pytorch_tutorial"
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "reference.json"}
    parsed: dict[str, Any] = {"tutorial.json": json.loads(files["tutorial.json"])}
    parsed.update({name: _load_torch(files[name]) for name in ("encoder.pt", "decoder.pt")})
    return Base("pytorch-tutorial", "pytorch-tutorial", files, "tutorial.json", parsed)


# -- hostile values ----------------------------------------------------------------------------------------------------

HOSTILE: list[Any] = [
    math.inf,
    -math.inf,
    math.nan,
    -1,
    0,
    1,
    2,
    3,
    7,
    10**9,
    2**31,
    2**63,
    10**100,
    1.5,
    24.0,
    True,
    False,
    None,
    "",
    "24",
    "x" * 10_000,
    "\x1b[31mred",
    "../../etc/passwd",
    "a\x00b",
    [],
    [24],
    {},
    {"a": 1},
    [[[[1]]]],
]
NUMBER_TEXTS = [".inf", "-.inf", ".nan", "1e309", "1.0e+309", "9" * 5000, "0x" + "f" * 100, "1:2:3:4:5", "-0", "1_0"]
NUMBER_TEXTS += ["0o17", "+12", "12.5", "1e3", "-" + "9" * 40, "NaN", "Infinity", "1" * 4301]


def _hostile(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(HOSTILE))


# -- mutations that fit any file -----------------------------------------------------------------------------------


def _pick(rng: random.Random, base: Base, suffixes: tuple[str, ...] = ()) -> str:
    names = sorted(n for n in base.files if not suffixes or n.endswith(suffixes))
    return rng.choice(names)


def flipped(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    if not out:
        return b"\x00"
    for _ in range(rng.choice([1, 1, 2, 4, 16, 64])):
        i = rng.randrange(len(out))
        out[i] ^= rng.randrange(1, 256)
    return bytes(out)


def truncated(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.choice([0, 1, rng.randrange(max(1, len(data))), len(data) - 1])]


def file_bytes(suffixes: tuple[str, ...] = ()) -> Callable[[random.Random, Base], Changes]:
    def mutate(rng: random.Random, base: Base) -> Changes:
        name = _pick(rng, base, suffixes)
        return {name: flipped(rng, base.files[name])}

    return mutate


def file_truncated(suffixes: tuple[str, ...] = ()) -> Callable[[random.Random, Base], Changes]:
    def mutate(rng: random.Random, base: Base) -> Changes:
        name = _pick(rng, base, suffixes)
        return {name: truncated(rng, base.files[name])}

    return mutate


def file_removed_or_replaced(rng: random.Random, base: Base) -> Changes:
    name = _pick(rng, base)
    other = rng.choice([None, b"", b"\x00" * 64, b"PK\x03\x04", b"\x80\x02}q\x00.", b"{}", b"[]", b"null", b"---\n"])
    return {name: other}


# -- PyTorch files: zip records, pickles, tensors ---------------------------------------------------------------------


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """The zip archive with each member's bytes passed through `change` (None drops it), checksums made right."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


def pickle_flipped(rng: random.Random, base: Base) -> Changes:
    """Bytes flipped inside data.pkl with the archive kept valid, so torch's weights-only unpickler reads them."""
    name = _pick(rng, base, (".pt", ".ckpt"))
    return {name: rezip(base.files[name], lambda member, b: flipped(rng, b) if member.endswith("data.pkl") else b)}


def records_changed(rng: random.Random, base: Base) -> Changes:
    """A tensor's storage record flipped, shortened, lengthened or dropped; or an extra record."""
    name = _pick(rng, base, (".pt", ".ckpt"))
    with zipfile.ZipFile(io.BytesIO(base.files[name])) as archive:
        members = [m for m in archive.namelist() if "/data/" in m]
    victim = rng.choice(members)
    how = rng.choice(["flip", "short", "long", "drop", "empty"])

    def change(member: str, content: bytes) -> bytes | None:
        if member != victim:
            return content
        return {"flip": flipped(rng, content), "short": content[: len(content) // 2], "long": content * 2}.get(how)

    return {name: rezip(base.files[name], change)}


def _save_torch(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def tensors_changed(rng: random.Random, base: Base) -> Changes:
    """One tensor missing, extra, reshaped, of another dtype, non-finite, empty, renamed, or not a tensor at all."""
    name = rng.choice(sorted(n for n in base.parsed if n.endswith((".pt", ".ckpt"))))
    obj = dict(base.parsed[name])  # every parsed PyTorch base is a dict: a state dict, or one holding state dicts
    holders = [k for k in ("model", "generator", "model_state") if isinstance(obj.get(k), dict)]
    holder = rng.choice(holders) if holders else None
    state = dict(obj[holder] if holder else obj)
    key = rng.choice(sorted(state))
    _change_tensor(rng, state, key)
    if holder:
        obj[holder] = state
    else:
        obj = state
    return {name: _save_torch(obj)}


def _change_tensor(rng: random.Random, state: dict[str, Any], key: str) -> None:
    tensor = state[key]
    edit = rng.choice(["drop", "extra", "reshape", "dtype", "nan", "empty", "scalar", "not tensor", "rename"])
    if edit == "drop":
        del state[key]
    elif edit == "extra":
        state[rng.choice([key + ".x", "rogue", "decoder.rnn.weight_ih_l9", "generator.extra"])] = torch.zeros(3)
    elif edit == "reshape":
        shape = list(tensor.shape)
        options = [shape[::-1], [*shape, 1], shape[1:] or [2], [d + rng.choice([-1, 1]) or 2 for d in shape], [0]]
        state[key] = torch.zeros(rng.choice([s for s in options if s != shape] or [[5]]))
    elif edit == "dtype":
        state[key] = tensor.to(rng.choice([torch.float16, torch.float64, torch.int64, torch.bool, torch.complex64]))
    elif edit == "nan":
        changed = tensor.clone().view(-1)
        changed[rng.randrange(changed.numel())] = rng.choice([math.nan, math.inf, -math.inf])
        state[key] = changed.view(tensor.shape)
    elif edit == "empty":
        state[key] = torch.zeros(0)
    elif edit == "scalar":
        state[key] = torch.tensor(1.0)
    elif edit == "not tensor":
        state[key] = rng.choice([1, "weight", None, [1.0, 2.0], {"a": 1}, 2.5])
    else:
        state[rng.choice(["", " ", key.upper(), key + "\x00"])] = state.pop(key)


def container_changed(rng: random.Random, base: Base) -> Changes:
    """The file's top-level object replaced or its keys removed."""
    name = rng.choice(sorted(n for n in base.parsed if n.endswith((".pt", ".ckpt"))))
    original = base.parsed[name]
    choices: list[Any] = [[], 1, None, "model", {}, [[[[[]]]]], {"model": None}, {"model_state": []}]
    if isinstance(original, dict):
        kept = {k: v for k, v in original.items() if rng.random() < 0.5}
        choices += [kept, {**original, "extra": torch.zeros(2)}, list(original.values())]
    return {name: _save_torch(rng.choice(choices))}


# -- text: YAML and JSON configs, vocabulary files --------------------------------------------------------------------


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed config, for setting or deleting one value."""
    found: list[tuple[Any, ...]] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.append((*prefix, key))
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            found.append((*prefix, i))
            found += _paths(value, (*prefix, i))
    return found


def _set(tree: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return tree


def _important(paths: list[tuple[Any, ...]], words: tuple[str, ...]) -> list[tuple[Any, ...]]:
    hits = [p for p in paths if p and str(p[-1]) in words]
    return hits or paths


JOEY_KEYS: tuple[str, ...] = (
    *("hidden_size", "embedding_dim", "num_layers", "rnn_type", "attention", "init_hidden", "type", "level"),
    *("bidirectional", "lowercase", "normalize", "special_symbols", "unk_token", "model", "data", "encoder"),
    *("decoder", "embeddings", "input_feeding", "scale", "src", "trg", "tokenizer_cfg", "pretokenizer"),
)


def yaml_value(rng: random.Random, base: Base) -> Changes:
    config = base.parsed["config"]
    path = rng.choice(_important(_paths(config), JOEY_KEYS))
    delete = rng.random() < 0.2
    changed = _set(config, path, _hostile(rng), delete=delete)
    return {"config.yaml": yaml.safe_dump(changed, allow_unicode=True).encode()}


def yaml_number(rng: random.Random, base: Base) -> Changes:
    """A size written as YAML resolves it, not as safe_dump would: .inf, 1e309, 5,000 digits, sexagesimal..."""
    lines = base.files["config.yaml"].decode().splitlines()
    numeric = [i for i, line in enumerate(lines) if line.rstrip().split(": ")[-1].strip().lstrip("-").isdigit()]
    i = rng.choice(numeric)
    key = lines[i].split(": ")[0]
    lines[i] = f"{key}: {rng.choice(NUMBER_TEXTS)}"
    return {"config.yaml": ("\n".join(lines) + "\n").encode()}


def yaml_structure(rng: random.Random, base: Base) -> Changes:
    """What a JoeyNMT config never holds: deep nesting, anchors and aliases, tags, merges, several documents."""
    text = base.files["config.yaml"].decode()
    depth = rng.choice([33, 100, 1000, 5000])
    laughs = "a0: &a0 [lol, lol, lol]\n" + "".join(
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]\n" for i in range(1, 9)
    )
    options = [
        text + "extra: " + "[" * depth + "]" * depth + "\n",
        text + "extra: " + "{a: " * depth + "1" + "}" * depth + "\n",
        text + "".join("  " * i + f"k{i}:\n" for i in range(min(depth, 300))) + "  " * min(depth, 300) + "x: 1\n",
        laughs + text,
        text.replace("hidden_size: 24", "hidden_size: !!python/object/apply:os.system ['true']"),
        text.replace("rnn_type: gru", "rnn_type: !!binary aGVsbG8="),
        text + "defaults: &d {hidden_size: 1}\nmore:\n  <<: *d\n",
        text + "---\nsecond: document\n",
        text.replace("model:", "model: &m"),
        text + "key: 'unterminated\n",
        "\t" + text,
        text + "big: " + "x" * 300_000 + "\n",
    ]
    return {"config.yaml": rng.choice(options).encode()}


def vocab_lines(rng: random.Random, base: Base) -> Changes:
    name = rng.choice(["src_vocab.txt", "trg_vocab.txt"])
    lines = base.files[name].decode().splitlines()
    edit = rng.choice(["drop", "duplicate", "empty", "huge", "garbage", "add", "specials gone"])
    if edit == "drop":
        lines = lines[: rng.randrange(len(lines))]
    elif edit == "duplicate":
        lines = lines + lines
    elif edit == "empty":
        lines = []
    elif edit == "huge":
        lines.append("w" * rng.choice([10_000, 1_000_000]))
    elif edit == "add":
        lines += [f"extra{i}" for i in range(rng.choice([1, 5, 5000]))]
    elif edit == "specials gone":
        lines = [t for t in lines if not t.startswith("<")]
    else:
        return {name: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))}
    return {name: ("\n".join(lines) + "\n").encode()}


TUTORIAL_KEYS = ("format", "encoder", "decoder", "source_words", "target_words", "sos_id", "eos_id", "normalize")


def json_value(rng: random.Random, base: Base) -> Changes:
    spec = base.parsed["tutorial.json"]
    path = rng.choice(_important(_paths(spec), TUTORIAL_KEYS))
    changed = _set(spec, path, _hostile(rng), delete=rng.random() < 0.2)
    return {"tutorial.json": json.dumps(changed, allow_nan=True).encode()}


def json_structure(rng: random.Random, base: Base) -> Changes:
    """Nesting, huge and non-finite numbers, file names that escape the folder, as raw JSON text."""
    spec = base.parsed["tutorial.json"]
    text = json.dumps(spec)
    depth = rng.choice([65, 1000, 100_000])
    key = rng.choice(TUTORIAL_KEYS)
    number = rng.choice(["9" * 5000, "1e309", "-1e309", "NaN", "Infinity", "-0", "1.0", "1" * 31, "0e0"])
    name = rng.choice(["/etc/passwd", "../decoder.pt", ".", "", "encoder.pt\\u0000", "x" * 300, "sub/encoder.pt"])
    options = [
        text[:-1] + f', "extra": {nested(depth)}}}',
        text[:-1] + f', "{key}": {nested(depth)}}}',
        text[:-1] + f', "sos_id": {number}}}',
        text[:-1] + f', "eos_id": {number}}}',
        text[:-1] + f', "{rng.choice(["encoder", "decoder"])}": "{name}"}}',
        text[:-1] + ', "source_words": ["SOS", "SOS", "EOS"]}',
        text[:-1] + ', "target_words": ' + json.dumps([f"w{i}" for i in range(rng.choice([2, 100_000]))]) + "}",
        "[" + text + "]",
        text.replace('"format"', '"\\ud800"'),
        text[:-1] + ', "source_words": "' + "a" * 100_000 + '"}',
    ]
    return {"tutorial.json": rng.choice(options).encode()}


def onmt_options(rng: random.Random, base: Base) -> Changes:
    """One of OpenNMT-py's options (a pickled argparse.Namespace) set to a hostile value, or removed."""
    ckpt = dict(base.parsed["model.pt"])
    opt = copy.deepcopy(ckpt["opt"])
    keys = ["enc_layers", "dec_layers", "enc_hid_size", "dec_hid_size", "hidden_size", "rnn_size", "word_vec_size"]
    keys += ["src_word_vec_size", "tgt_word_vec_size", "rnn_type", "global_attention", "encoder_type", "decoder_type"]
    keys += ["input_feed", "bridge", "transforms", "model_task", "copy_attn", "global_attention_function"]
    key = rng.choice(keys)
    if rng.random() < 0.2 and hasattr(opt, key):
        delattr(opt, key)
    else:
        setattr(opt, key, _hostile(rng))
    ckpt["opt"] = opt
    return {"model.pt": _save_torch(ckpt)}


def onmt_vocab(rng: random.Random, base: Base) -> Changes:
    ckpt = dict(base.parsed["model.pt"])
    vocab = dict(ckpt["vocab"])
    side = rng.choice(["src", "tgt"])
    tokens = list(vocab[side])
    edit = rng.choice(["specials", "non-string", "drop", "add", "duplicate", "empty", "not a list", "missing"])
    if edit == "specials":
        tokens = [t for t in tokens if t not in (rng.choice(["<blank>", "<s>", "</s>", "<unk>"]),)]
    elif edit == "non-string":
        tokens[rng.randrange(len(tokens))] = _hostile(rng)
    elif edit == "drop":
        tokens = tokens[: rng.randrange(len(tokens))]
    elif edit == "add":
        tokens += [f"extra{i}" for i in range(rng.choice([1, 8, 1000]))]
    elif edit == "duplicate":
        tokens.append(tokens[-1])
    elif edit == "empty":
        tokens = []
    if edit == "not a list":
        vocab[side] = _hostile(rng)
    elif edit == "missing":
        del vocab[side]
    else:
        vocab[side] = tokens
    ckpt["vocab"] = vocab
    return {"model.pt": _save_torch(ckpt)}


# -- attnscope's own format: the header and its metadata ------------------------------------------------------------


def _st(mutate: Callable[[random.Random, StBase], bytes]) -> Callable[[random.Random, Base], Changes]:
    def wrapped(rng: random.Random, base: Base) -> Changes:
        return {"model.safetensors": mutate(rng, base.parsed["st"])}

    wrapped.__name__ = mutate.__name__
    return wrapped


def st_truncated(rng: random.Random, base: StBase) -> bytes:
    data = base.data
    (length,) = struct.unpack("<Q", data[:8])
    cut = rng.choice([0, 1, 7, 8, 9, 8 + length // 2, 8 + length, 8 + length + 1, len(data) - 1])
    return data[: rng.randrange(len(data))] if rng.random() < 0.5 else data[:cut]


def st_flipped(rng: random.Random, base: StBase) -> bytes:
    data = bytearray(base.data)
    (length,) = struct.unpack("<Q", data[:8])
    region = rng.choice([(0, 8), (8, 8 + length), (8 + length, len(data)), (0, len(data))])
    for _ in range(rng.choice([1, 1, 2, 4, 16, 64])):
        i = rng.randrange(*region)
        data[i] ^= rng.randrange(1, 256)
    return bytes(data)


def huge_header_length(rng: random.Random, base: StBase) -> bytes:
    rest = base.data[8:]
    value = rng.choice(
        [2**64 - 1, 2**63, 2**32, 64 * 1024**2 + 1, len(rest) + 1, len(rest) * 1000, rng.randrange(len(rest), 2**64)]
    )
    return struct.pack("<Q", value) + rest


def header_garbage(rng: random.Random, base: StBase) -> bytes:
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
        lambda: json.dumps(
            {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(5000)}
        ).encode(),
    ]
    return pack(None, body_of(base.data), header_bytes=rng.choice(choices)())


def wrong_dtype(rng: random.Random, base: StBase) -> bytes:
    name = rng.choice(sorted(base.tensors))
    if rng.random() < 0.5:  # well-formed: the data really has that dtype
        tensors = dict(base.tensors)
        tensors[name] = tensors[name].to(DTYPES[rng.choice(sorted(DTYPES))])
        return resave(tensors, base.meta)
    header = json.loads(json.dumps(base.header))  # only the header lies about the dtype
    header[name]["dtype"] = rng.choice(["F16", "F64", "I64", "BOOL", "f32", "F32 ", "", "F8_E4M3", 32, None, ["F32"]])
    return pack(header, body_of(base.data))


def wrong_shape(rng: random.Random, base: StBase) -> bytes:
    name = rng.choice(sorted(base.tensors))
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


def bad_offsets(rng: random.Random, base: StBase) -> bytes:
    header = json.loads(json.dumps(base.header))
    entry = header[rng.choice(sorted(base.tensors))]
    start, end = entry["data_offsets"]
    entry["data_offsets"] = rng.choice(
        [[end, start], [start, end + 4], [0, 4], [start, 2**64], [-4, end], [start], None, "0,4", [start, end, 0]]
    )
    return pack(header, body_of(base.data))


def nan_inf(rng: random.Random, base: StBase) -> bytes:
    tensors = {k: v.clone() for k, v in base.tensors.items()}
    for _ in range(rng.choice([1, 1, 3])):
        flat = tensors[rng.choice(sorted(base.tensors))].view(-1)
        flat[rng.randrange(flat.numel())] = rng.choice([math.nan, math.inf, -math.inf])
    return resave(tensors, base.meta)


def vocab_mismatch(rng: random.Random, base: StBase) -> bytes:
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


def metadata_missing(rng: random.Random, base: StBase) -> bytes:
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


def metadata_malformed(rng: random.Random, base: StBase) -> bytes:
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


def absurd_config(rng: random.Random, base: StBase) -> bytes:
    meta = base.meta
    config = json.loads(meta["config"])
    for key, value in rng.sample(ABSURD, rng.choice([1, 1, 2, 3])):
        config[key] = value
    if rng.random() < 0.1:
        del config[rng.choice(sorted(config))]
    meta["config"] = json.dumps(config, allow_nan=True)
    return resave(base.tensors, meta)


def extra_or_missing_tensor(rng: random.Random, base: StBase) -> bytes:
    tensors = dict(base.tensors)
    if rng.random() < 0.5:
        del tensors[rng.choice(sorted(base.tensors))]
    else:
        tensors[rng.choice(["rogue", "encoder.embed.weight.x", "decoder.output.bias2"])] = torch.zeros(3)
    return resave(tensors, base.meta)


def st_combined(rng: random.Random, base: StBase) -> bytes:
    """A structural mutation, then a few flipped bytes on top."""
    first = rng.choice([wrong_dtype, wrong_shape, vocab_mismatch, metadata_malformed, absurd_config, nan_inf])
    mutant = bytearray(first(rng, base))
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(mutant))
        mutant[i] ^= rng.randrange(1, 256)
    return bytes(mutant)


ST_MUTATIONS = (
    st_truncated,
    st_flipped,
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
    st_combined,
)

Mutation = Callable[[random.Random, Base], Changes]
MUTATIONS: dict[str, dict[str, Mutation]] = {
    "attnscope": {f.__name__: _st(f) for f in ST_MUTATIONS},
    "joeynmt": {
        "config_bytes": file_bytes(("config.yaml",)),
        "config_truncated": file_truncated(("config.yaml",)),
        "config_value": yaml_value,
        "config_number": yaml_number,
        "config_structure": yaml_structure,
        "vocab": vocab_lines,
        "ckpt_bytes": file_bytes((".ckpt",)),
        "ckpt_truncated": file_truncated((".ckpt",)),
        "ckpt_pickle": pickle_flipped,
        "ckpt_records": records_changed,
        "ckpt_tensors": tensors_changed,
        "ckpt_container": container_changed,
        "file_removed": file_removed_or_replaced,
    },
    "opennmt-py": {
        "pt_bytes": file_bytes(),
        "pt_truncated": file_truncated(),
        "pt_pickle": pickle_flipped,
        "pt_records": records_changed,
        "pt_tensors": tensors_changed,
        "pt_container": container_changed,
        "pt_options": onmt_options,
        "pt_vocab": onmt_vocab,
    },
    "pytorch-tutorial": {
        "json_bytes": file_bytes((".json",)),
        "json_truncated": file_truncated((".json",)),
        "json_value": json_value,
        "json_structure": json_structure,
        "pt_bytes": file_bytes((".pt",)),
        "pt_truncated": file_truncated((".pt",)),
        "pt_pickle": pickle_flipped,
        "pt_records": records_changed,
        "pt_tensors": tensors_changed,
        "pt_container": container_changed,
        "file_removed": file_removed_or_replaced,
    },
}


# -- cases ------------------------------------------------------------------------------------------------------


def case_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"attnscope-fuzz:{seed}:{index}")


def choose(seed: int, index: int, bases: list[Base]) -> tuple[Base, str, random.Random]:
    """Case `index`'s base and mutation class (uniform over formats, then bases, then classes) and its generator."""
    rng = case_rng(seed, index)
    fmt = rng.choice(FORMATS)
    base = rng.choice([b for b in bases if b.format == fmt])
    return base, rng.choice(sorted(MUTATIONS[fmt])), rng


def write_model(base: Base, changes: Changes, folder: Path) -> Path:
    """The base's files with `changes` applied, under `folder`; returns what load_any is given."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {**base.files, **changes}.items():
        if content is not None:
            (folder / name).write_bytes(content)
    if base.format == "joeynmt" and "500.ckpt" in {n for n, c in {**base.files, **changes}.items() if c is not None}:
        (folder / "best.ckpt").symlink_to("500.ckpt")  # as JoeyNMT leaves it
    return folder / base.opens


def make_case(seed: int, index: int, bases: list[Base], folder: Path) -> tuple[str, str, Path]:
    """(label, "format/mutation", path to open) of case `index`, its files written under `folder` (emptied first)."""
    base, mutation, rng = choose(seed, index, bases)
    changes = MUTATIONS[base.format][mutation](rng, base)
    return f"case {index} ({mutation} on {base.name})", f"{base.format}/{mutation}", write_model(base, changes, folder)
