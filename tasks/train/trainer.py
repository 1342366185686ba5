"""transformers' Trainer over the DeSTA2.5 model: trainable-only checkpoints, the recipe's arguments.

The Trainer does the loop, gradient accumulation, mixed precision, DDP/FSDP under torchrun, checkpoints with
optimizer, scheduler, RNG and data position, and the MLflow curves. What is ours: checkpoints hold only the
trainable weights (DeSTA25Model.save_pretrained, not the frozen base models), and rows are grouped by the
lengths the dataset already knows.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import Trainer, TrainingArguments
from transformers.trainer_pt_utils import LengthGroupedSampler

from model.modeling_desta25 import WEIGHTS_FILE
from tasks.params import TrainParams


class EpochSeededLengthSampler(LengthGroupedSampler):
    """Rows grouped by length, in an order drawn from (seed, epoch) alone: a resumed run (whose RNG history
    differs) replays the very epoch order an uninterrupted run saw. The Trainer calls set_epoch."""

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths, generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


class DeSTATrainer(Trainer):
    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """A checkpoint (and the final model) is save_pretrained: trainable weights, config, processor."""
        if self.args.should_save:
            self.accelerator.unwrap_model(self.model).save_pretrained(output_dir or self.args.output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        model = self.accelerator.unwrap_model(model or self.model)
        weights = Path(resume_from_checkpoint, WEIGHTS_FILE)
        model.load_trainable(load_file(str(weights)), source=str(weights))

    def _get_train_sampler(self, train_dataset=None):
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset or self.train_dataset
        return EpochSeededLengthSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps, dataset.lengths, self.args.data_seed
        )


def on_gpu() -> bool:
    return torch.cuda.is_available()


def training_arguments(train: TrainParams, checkpoint_dir: str, report_to: list[str], has_valid: bool,
                       fsdp_wrap: str | None = None) -> TrainingArguments:
    """The recipe in TrainingArguments terms. Only rank 0 logs and writes (the Trainer's own rule)."""
    fsdp = {}
    if train.distributed == "fsdp":
        # Frozen base weights sit beside trainable adapters in one module: FSDP must keep original parameters.
        fsdp = {"fsdp": "full_shard auto_wrap",
                "fsdp_config": {"use_orig_params": True, "transformer_layer_cls_to_wrap": [fsdp_wrap]}}
    return TrainingArguments(
        output_dir=checkpoint_dir,
        seed=train.seed,
        data_seed=train.seed,
        learning_rate=train.lr,
        adam_beta1=train.betas[0],
        adam_beta2=train.betas[1],
        weight_decay=train.weight_decay,
        optim="adamw_torch",
        lr_scheduler_type=train.lr_scheduler,
        warmup_steps=train.warmup_steps,
        max_grad_norm=train.max_grad_norm,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        num_train_epochs=train.epochs,
        max_steps=train.max_steps or -1,
        bf16=train.precision == "bf16",
        use_cpu=not on_gpu(),
        logging_steps=train.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if train.eval_steps and has_valid else "no",
        eval_steps=train.eval_steps,
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=train.save_total_limit,
        report_to=report_to,
        run_name=os.environ.get("DESTAFLOW_RUN_NAME"),
        remove_unused_columns=False,
        dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding",
        train_sampling_strategy="group_by_length" if train.group_by_length else "random",
        # Frozen base models: DDP only syncs what trains, and every trainable tensor is used each step.
        ddp_find_unused_parameters=False,
        **fsdp,
    )
