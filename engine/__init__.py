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

from engine.anatomy import HeadAnatomy, StepAnatomy, head_anatomy, result_anatomy, step_anatomy
from engine.decoding.control import DecodeControl
from engine.evaluation.head_report import HEAD_KINDS, HeadRankingReport, HeadScore, format_head_table
from engine.evaluation.report import EvaluationReport, report_csv, report_rows
from engine.export import FORMATS, export_result
from engine.head_views import (
    SINKS_HIDDEN_NOTE,
    VIEW_KINDS,
    HeadChoice,
    describe_view,
    kept_columns,
    sink_columns,
    sink_heads,
    viewed_records,
    viewed_result,
)
from engine.records import (
    BEAM_STATUSES,
    BeamNode,
    Candidate,
    DecodeResult,
    DecodeStart,
    HeadMatrices,
    Hypothesis,
    ModelInfo,
    Perturbation,
    Run,
    StepHeads,
    StepRecord,
    frozen_array,
)
from engine.requests import (
    NEEDS_ATTENTION,
    PERTURB_MODES,
    STRATEGIES,
    DecodeOptions,
    DecodeRequest,
    EditHead,
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
from engine.text import log_probability_text, output_pieces, probability_text
from engine.whatif.compare import Pair, align, alpha_difference, changed_positions, changed_sides, step_labels
from engine.whatif.redecode import whatif_options
from models import EOS, MAX_SOURCE_CHARS, CheckpointError, atomic_write_bytes, atomic_write_text
from models.lazy import lazy_attributes

if TYPE_CHECKING:
    from engine.decoding.device import available_devices, prepare_thread, resolve_device
    from engine.decoding.session import InferenceSession, failure_text
    from engine.evaluation.head_ranking import NoHeadsError, rank_head_file, rank_heads
    from engine.evaluation.quality import EvaluationCancelled, evaluate_files, read_eval_pairs

_TORCH_BACKED = {
    "InferenceSession": "engine.decoding.session",
    "failure_text": "engine.decoding.session",
    "available_devices": "engine.decoding.device",
    "prepare_thread": "engine.decoding.device",
    "resolve_device": "engine.decoding.device",
    "EvaluationCancelled": "engine.evaluation.quality",
    "evaluate_files": "engine.evaluation.quality",
    "read_eval_pairs": "engine.evaluation.quality",
    "NoHeadsError": "engine.evaluation.head_ranking",
    "rank_head_file": "engine.evaluation.head_ranking",
    "rank_heads": "engine.evaluation.head_ranking",
}
__getattr__ = lazy_attributes(__name__, _TORCH_BACKED)

__all__ = [
    "BEAM_STATUSES",
    "EOS",
    "FORMATS",
    "HEAD_KINDS",
    "NEEDS_ATTENTION",
    "MAX_SOURCE_CHARS",
    "PERTURB_MODES",
    "SINKS_HIDDEN_NOTE",
    "STRATEGIES",
    "VIEW_KINDS",
    "BeamNode",
    "Candidate",
    "CheckpointError",
    "DecodeControl",
    "DecodeOptions",
    "DecodeRequest",
    "DecodeResult",
    "DecodeStart",
    "EditHead",
    "EditRow",
    "EvaluationCancelled",
    "EvaluationReport",
    "HeadChoice",
    "HeadMatrices",
    "HeadRankingReport",
    "HeadScore",
    "Hypothesis",
    "InferenceSession",
    "InputError",
    "Intervention",
    "MaskSource",
    "NoHeadsError",
    "ModelInfo",
    "Pair",
    "Perturbation",
    "PinStep",
    "Run",
    "HeadAnatomy",
    "StepAnatomy",
    "StepHeads",
    "StepRecord",
    "align",
    "alpha_difference",
    "atomic_write_bytes",
    "atomic_write_text",
    "available_devices",
    "changed_positions",
    "changed_sides",
    "describe_intervention",
    "evaluate_files",
    "export_result",
    "format_head_table",
    "failure_text",
    "first_edited_step",
    "frozen_array",
    "describe_view",
    "kept_columns",
    "log_probability_text",
    "output_pieces",
    "prepare_thread",
    "probability_text",
    "rank_head_file",
    "rank_heads",
    "read_eval_pairs",
    "report_csv",
    "report_rows",
    "resolve_device",
    "result_anatomy",
    "reweighted_row",
    "sink_columns",
    "sink_heads",
    "head_anatomy",
    "step_anatomy",
    "step_labels",
    "step_rows",
    "viewed_records",
    "viewed_result",
    "whatif_options",
]
