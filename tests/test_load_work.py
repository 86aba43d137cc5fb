"""Opening a model does no needless work: no torch._dynamo, sympy or matplotlib imported, one build, no random init.

The import check runs in a fresh child process (this one has imported everything the other tests use).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from models import Seq2Seq, load_any, load_checkpoint
from models.foreign import ForeignSeq2Seq

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "resources" / "models" / "en_hi_bahdanau.safetensors"
DATA = Path(__file__).parent / "data"
HEAVY = ("torch._dynamo", "sympy", "matplotlib")

CHILD = """
import json, sys
from engine import InferenceSession
from engine import DecodeRequest
session = InferenceSession.open(sys.argv[1], "cpu")
result = session.run(DecodeRequest(1, "turn off the lights"))
print(json.dumps({"text": result.text, "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_opening_and_decoding_a_model_imports_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(SHIPPED), *HEAVY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["text"] == "लाइट बंद करो"
    assert found["heavy"] == []


@pytest.mark.parametrize(
    "path", [SHIPPED, DATA / "joeynmt/gru_bahdanau", DATA / "opennmt/brnn_gru_mlp/model.pt"], ids=lambda p: p.name
)
def test_loading_draws_no_random_numbers_and_builds_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random init would advance torch's generator; the weights come from the file, so it must stay where it was."""
    builds: list[str] = []
    for cls in (Seq2Seq, ForeignSeq2Seq):
        monkeypatch.setattr(cls, "__init__", _counting(cls.__init__, builds))
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    ckpt = load_any(path)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert builds == [type(ckpt.model).__name__]
    assert not any(t.is_meta for t in [*ckpt.model.parameters(), *ckpt.model.buffers()])
    assert not ckpt.model.training


def _counting(init: Callable[..., None], builds: list[str]) -> Callable[..., None]:
    def counted(self: Seq2Seq, *args: Any) -> None:
        builds.append(type(self).__name__)
        init(self, *args)

    return counted


def test_loaded_weights_are_the_files() -> None:
    """Assigned, not copied into a random init: every tensor equals the file's, and the model decodes as before."""
    from safetensors.torch import load_file

    ckpt = load_checkpoint(SHIPPED)
    stored = load_file(str(SHIPPED))
    for name, tensor in ckpt.model.state_dict().items():
        assert torch.equal(tensor, stored[name]), name
