"""The train stage's work: rows -> checked examples -> Trainer run (any number of ranks) -> model, curves, and
the valid loss of the four conditions by kind.

    prepare_data     rows by split, bad rows set aside (skip) or raised (fail); the same on every rank
    run_training     one rank's part (single process, or each torchrun rank); rank 0 tracks and writes;
                     resumes from the run's last checkpoint after a kill
    evaluate_conditions  single process, after training: valid loss by condition and kind (tasks/conditions.py),
                     and how much the audio vectors differ between clips
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import shutil
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import set_seed
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from model import DeSTA25Config, DeSTA25Model, DeSTA25Processor
from model.processing_desta25 import IGNORE_INDEX
from tasks.conditions import CONDITIONS, condition_rows, untrained_model
from tasks.rows import read_rows, write_rows
from tasks.storage import write_text
from tasks.params import Params
from tasks.train.data import KINDS, AudioSource, BadRow, Collator, Example, RowDataset, check_bad_rows, prepare_examples, row_id
from tasks.train.trainer import DeSTATrainer, training_arguments

log = logging.getLogger("destaflow.train")
RUN_ID_FILE = "mlflow_run_id"


@dataclass
class PreparedData:
    train: list[Example]
    valid: list[Example]
    valid_rows: list[dict]
    bad: list[BadRow]


def rows_by_split(rows: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(train rows, valid rows): rows without a split train (DeSTA-AQA5M has none); test rows stay out."""
    train = [row for row in rows if row.get("split", "train") == "train"]
    valid = [row for row in rows if row.get("split") == "valid"]
    return train, valid


def model_config(params: Params) -> DeSTA25Config:
    return DeSTA25Config.from_params(params.model)


def build_model(params: Params, device=None) -> DeSTA25Model:
    """Base models + a connector initialised from train.seed (the `untrained` condition's connector too)."""
    return untrained_model(model_config(params), params.train.seed, device=device)


def prepare_data(params: Params, processor: DeSTA25Processor) -> PreparedData:
    train = params.train
    train_rows, valid_rows = rows_by_split(read_rows(train.rows))
    train_examples, bad = prepare_examples(train_rows, processor, train.audio_root, train.max_train_tokens)
    valid_examples, bad_valid = prepare_examples(valid_rows, processor, train.audio_root, train.max_valid_tokens)
    bad += bad_valid
    check_bad_rows(bad, train.on_bad_row, train.rows)
    bad_ids = {b.id for b in bad_valid}
    kept_valid = [row for i, row in enumerate(valid_rows) if row_id(row, i) not in bad_ids]
    if not train_examples:
        raise ValueError(f"{train.rows}: no usable training rows (split 'train') after {len(bad)} bad row(s)")
    return PreparedData(train_examples, valid_examples, kept_valid, bad)


def check_rows(params: Params) -> list[BadRow]:
    """The bad-row check alone (tokenizer and audio, no model weights), run before any rank starts."""
    from model.modeling_desta25 import locate_base_model

    config = model_config(params)
    llm_path, _ = locate_base_model(config.llm, config.llm_revision)
    encoder_path, _ = locate_base_model(config.encoder, config.encoder_revision)
    return prepare_data(params, DeSTA25Processor.from_config(config, llm_path, encoder_path)).bad


def write_bad_rows(path: str, bad: Sequence[BadRow]) -> None:
    write_rows(path, [b.as_dict() for b in bad])


def run_fingerprint(params: Params) -> str:
    """What decides the weights: model and train settings, the rows file. Checkpoints live under it."""
    digest = hashlib.sha256(Path(params.train.rows).read_bytes())
    settings = params.train.model_dump(exclude={"on_bad_row", "tracking_uri", "experiment", "rdzv_endpoint"})
    digest.update(json.dumps([params.model.model_dump(), settings], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _input_paths(params: Params) -> list[str]:
    return [params.train.rows, str(Path(params.train.audio_root) / "audio")]


def run_training(params: Params, report_to_mlflow: bool = True) -> dict:
    """Train on this rank (the Trainer sees torchrun's environment); rank 0 writes the model, the bad-row
    report, run.json and the curves' CSVs. Returns the throughput numbers (rank 0) or {}."""
    train = params.train
    set_seed(train.seed)
    device = "cuda" if torch.cuda.is_available() else None
    model = build_model(params, device=device)
    data = prepare_data(params, model.processor)
    audio = AudioSource(model, cached=train.encoder_cache)
    collator = Collator(model.processor, cached=train.encoder_cache, mask_padding_frames=model.config.mask_padding_frames)
    checkpoint_dir = Path(train.checkpoint_dir) / run_fingerprint(params)
    report_to = ["mlflow"] if report_to_mlflow else []
    args = training_arguments(train, str(checkpoint_dir), report_to, has_valid=bool(data.valid),
                              fsdp_wrap=type(model.llm.model.layers[0]).__name__ if hasattr(model.llm, "model") else None)
    trainer = DeSTATrainer(
        model=model, args=args, data_collator=collator, train_dataset=RowDataset(data.train, audio),
        eval_dataset=RowDataset(data.valid, audio) if data.valid else None,
    )
    resume = last_complete_checkpoint(checkpoint_dir)
    run = None
    if report_to_mlflow and args.process_index == 0:
        run_id_file = checkpoint_dir / RUN_ID_FILE
        resumed_id = run_id_file.read_text().strip() if resume and run_id_file.is_file() else None
        run = _start_tracking(params, resumed_id)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        run_id_file.write_text(run.info.run_id)
    if resume:
        log.info("train: resuming from %s", resume)
    start_step = trainer.state.global_step
    started = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=resume)
    finally:
        if run is not None:
            import mlflow

            mlflow.end_run()
    elapsed = time.perf_counter() - started
    if not trainer.is_world_process_zero():
        return {}
    model.save_pretrained(train.out)
    write_bad_rows(train.bad_rows, data.bad)
    write_curves(train.plots, trainer.state.log_history)
    run_info = {"mlflow_run_id": run.info.run_id if run else None, "mlflow_experiment": train.experiment,
                "tracking_uri": _tracking_uri(params) if run else None}
    write_text(train.run_info, json.dumps(run_info, indent=2) + "\n")
    throughput = _throughput(trainer, start_step, elapsed)
    # The finished run's checkpoints are spent: the model is in train.out.
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return {**throughput, "train_rows": len(data.train), "valid_rows": len(data.valid), "bad_rows": len(data.bad),
            "steps": trainer.state.global_step, "final_train_loss": _last(trainer.state.log_history, "loss")}


def last_complete_checkpoint(directory: Path) -> str | None:
    """The newest checkpoint written to the end (the Trainer writes trainer_state.json last): a run killed
    while saving leaves a partial one, which is passed over."""
    if not directory.is_dir():
        return None
    steps = [(int(path.name.split("-")[1]), path) for path in directory.glob(f"{PREFIX_CHECKPOINT_DIR}-*")
             if path.name.split("-")[1].isdigit() and (path / "trainer_state.json").is_file()]
    return str(max(steps)[1]) if steps else None


def _start_tracking(params: Params, resumed_id: str | None):
    from tasks.train.tracking import start_run

    return start_run(params, _input_paths(params), resumed_id)


def _tracking_uri(params: Params) -> str:
    from tasks.train.tracking import tracking_uri

    return tracking_uri(params)


def _throughput(trainer: DeSTATrainer, start_step: int, elapsed: float) -> dict:
    """Rows and non-padding tokens per second of this run's own steps (not those before a resume)."""
    args, state = trainer.args, trainer.state
    steps = state.global_step - start_step
    rows = steps * args.train_batch_size * args.gradient_accumulation_steps * args.world_size
    tokens = state.num_input_tokens_seen * steps / max(state.global_step, 1)
    return {"train_seconds": round(elapsed, 1), "samples_per_s": rows / elapsed, "tokens_per_s": tokens / elapsed}


def _last(history: Sequence[dict], key: str):
    values = [entry[key] for entry in history if key in entry]
    return values[-1] if values else None


CURVES = {"train_loss.csv": ("loss", "train_loss"), "valid_loss.csv": ("eval_loss", "valid_loss"),
          "learning_rate.csv": ("learning_rate", "learning_rate"), "grad_norm.csv": ("grad_norm", "grad_norm")}


def write_curves(directory: str, history: Sequence[dict]) -> None:
    """DVC plots: one CSV per curve, `step,<name>`, from the Trainer's log history."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    for file, (key, column) in CURVES.items():
        with open(Path(directory, file), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", column])
            writer.writerows([entry["step"], entry[key]] for entry in history if key in entry)


# ---------------------------------------------------------------------------------------------- conditions
@torch.no_grad()
def row_losses(model: DeSTA25Model, dataset: RowDataset, collator: Collator, batch_size: int) -> list[tuple[float, int]]:
    """Per example: (summed next-token NLL over its labelled tokens, their count), in eval mode."""
    model.eval()
    results = []
    for start in range(0, len(dataset), batch_size):
        batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        labels = batch.pop("labels").to(model.device)
        logits = model(**batch).logits.float()
        shifted_labels = labels[:, 1:]
        nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), shifted_labels, ignore_index=IGNORE_INDEX,
                              reduction="none")
        counts = (shifted_labels != IGNORE_INDEX).sum(dim=1)
        results += [(float(s), int(c)) for s, c in zip(nll.sum(dim=1), counts, strict=True)]
    return results


def loss_by_kind(examples: Sequence[Example], losses: Sequence[tuple[float, int]]) -> dict[str, float | None]:
    """Token-weighted mean NLL over all rows and per kind (None for a kind without rows)."""
    sums, counts = defaultdict(float), defaultdict(int)
    for example, (nll, count) in zip(examples, losses, strict=True):
        for group in ("all", example.kind):
            sums[group] += nll
            counts[group] += count
    return {group: (sums[group] / counts[group] if counts[group] else None) for group in ("all", *KINDS)}


@torch.no_grad()
def audio_spread(model: DeSTA25Model, audio: AudioSource, paths: Sequence[str]) -> float:
    """How much the connector's audio vectors differ between clips: the mean over clips of |A_i - mean A| / |A_i|
    (each clip's first window). Near 0 the LLM reads one soft prompt whatever the clip sounds like."""
    vectors = torch.stack([model.audio_embeddings(tapped_states=audio.windows(path)[0][:, None]).float()[0]
                           for path in paths])
    deviation = (vectors - vectors.mean(dim=0)).flatten(1).norm(dim=1) / vectors.flatten(1).norm(dim=1)
    return float(deviation.mean())


def evaluate_conditions(params: Params, model_dir: str, seed: int | None = None) -> tuple[dict[str, dict], dict[str, float]]:
    """(valid_loss[condition][all|speech|sound|music] on the same valid rows (tasks/conditions.py),
    audio_spread[untrained|trained] over their clips)."""
    train = params.train
    seed = train.seed if seed is None else seed
    trained = DeSTA25Model.from_pretrained(model_dir)
    _, valid_rows = rows_by_split(read_rows(train.rows))
    # Only rows that train could use, so every condition sees the same rows and no swap brings in a bad clip.
    usable, _ = prepare_examples(valid_rows, trained.processor, train.audio_root, train.max_valid_tokens)
    usable_ids = {example.id for example in usable}
    valid_rows = [row for i, row in enumerate(valid_rows) if row_id(row, i) in usable_ids]
    audio = AudioSource(trained, cached=True)
    collator = Collator(trained.processor, cached=True, mask_padding_frames=trained.config.mask_padding_frames)
    models = {True: trained, False: untrained_model(DeSTA25Config.from_pretrained(model_dir), train.seed)}
    results = {}
    for name, condition in CONDITIONS.items():
        rows = condition_rows(name, valid_rows, seed)
        examples, _ = prepare_examples(rows, trained.processor, train.audio_root, train.max_valid_tokens,
                                       audio_vectors=condition.audio_vectors)
        dataset = RowDataset(examples, audio, audio_vectors=condition.audio_vectors)
        losses = row_losses(models[condition.trained_weights], dataset, collator, train.eval_batch_size)
        results[name] = loss_by_kind(examples, losses)
        log.info("train: valid loss %-10s %s", name, _format_losses(results[name]))
    clips = sorted({path for example in usable for path in example.audio_paths})
    spread = {"untrained": audio_spread(models[False], audio, clips), "trained": audio_spread(trained, audio, clips)}
    log.info("train: audio vectors' spread over %d valid clips: untrained %.4f, trained %.4f", len(clips),
             spread["untrained"], spread["trained"])
    return results, spread


def _format_losses(losses: dict[str, float | None]) -> str:
    return "  ".join(f"{k}={'-' if v is None or math.isnan(v) else f'{v:.4f}'}" for k, v in losses.items())
