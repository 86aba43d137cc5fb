"""The engine: decoding a loaded model step by step into frozen records, what-if edits, evaluation, exports.

This module is the package's public API: the window (through its Qt bridge), the commands and the benchmarks use
the engine only through it.  It knows no screen: no Qt, no gui.  Records, requests, comparisons and exports are
torch-free and imported with the package; the names that need torch (the session, devices, evaluation) are
imported on first use, so a window can paint before torch is loaded.

    session = InferenceSession.open("model.safetensors", device="auto")
    for item in session.decode(DecodeRequest(1, "turn off the lights")):
        ...  # a StepRecord per output token, then one DecodeResult
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.anatomy import StepAnatomy, result_anatomy, step_anatomy
from engine.decoding.control import DecodeControl
from engine.evaluation.report import EvaluationReport, report_csv, report_rows
from engine.export import FORMATS, export_result
from engine.records import (
    BEAM_STATUSES,
    BeamNode,
    Candidate,
    DecodeResult,
    DecodeStart,
    Hypothesis,
    ModelInfo,
    Perturbation,
    Run,
    StepRecord,
    frozen_array,
)
from engine.requests import (
    PERTURB_MODES,
    STRATEGIES,
    DecodeOptions,
    DecodeRequest,
    EditRow,
    InputError,
    Intervention,
    MaskSource,
    PinStep,
    describe_intervention,
    first_edited_step,
    reweighted_row,
    step_rows,
)
from engine.text import output_pieces, provisional_text
from engine.whatif.compare import alpha_difference, changed_positions, step_labels
from engine.whatif.redecode import whatif_options
from models import EOS, MAX_SOURCE_CHARS, CheckpointError, atomic_write_bytes, atomic_write_text
from models.lazy import lazy_attributes

if TYPE_CHECKING:
    from engine.decoding.device import available_devices, prepare_thread, resolve_device
    from engine.decoding.session import InferenceSession, failure_text
    from engine.evaluation.quality import EvaluationCancelled, evaluate_files

_TORCH_BACKED = {
    "InferenceSession": "engine.decoding.session",
    "failure_text": "engine.decoding.session",
    "available_devices": "engine.decoding.device",
    "prepare_thread": "engine.decoding.device",
    "resolve_device": "engine.decoding.device",
    "EvaluationCancelled": "engine.evaluation.quality",
    "evaluate_files": "engine.evaluation.quality",
}
__getattr__ = lazy_attributes(__name__, _TORCH_BACKED)

__all__ = [
    "BEAM_STATUSES",
    "EOS",
    "FORMATS",
    "MAX_SOURCE_CHARS",
    "PERTURB_MODES",
    "STRATEGIES",
    "BeamNode",
    "Candidate",
    "CheckpointError",
    "DecodeControl",
    "DecodeOptions",
    "DecodeRequest",
    "EvaluationReport",
    "DecodeResult",
    "DecodeStart",
    "EditRow",
    "EvaluationCancelled",
    "Hypothesis",
    "InferenceSession",
    "InputError",
    "Intervention",
    "MaskSource",
    "ModelInfo",
    "Perturbation",
    "PinStep",
    "Run",
    "StepAnatomy",
    "StepRecord",
    "alpha_difference",
    "atomic_write_bytes",
    "atomic_write_text",
    "available_devices",
    "changed_positions",
    "describe_intervention",
    "evaluate_files",
    "export_result",
    "failure_text",
    "first_edited_step",
    "frozen_array",
    "prepare_thread",
    "output_pieces",
    "provisional_text",
    "report_csv",
    "report_rows",
    "resolve_device",
    "result_anatomy",
    "reweighted_row",
    "step_anatomy",
    "step_labels",
    "step_rows",
    "whatif_options",
]
