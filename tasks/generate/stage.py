"""The generate stage: every manifest clip -> one self-generated training row.

For each clip: seed description + a sampled instruction -> the backbone's chat template -> vLLM (or
transformers) -> the answer becomes the row's `response`, stored with the description replaced by the
audio locator. Rows land in atomic shards as they finish, so a killed run resumes exactly; the output
is all rows sorted by id. `self_consistency` scores the targets under the backbone afterwards.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from tasks.generate.backends import (
    Completion,
    GenerationRequest,
    RetryPolicy,
    Sampling,
    TransformersGenerator,
    generate_vllm,
    served_models,
)
from tasks.generate.grounding import judge_row
from tasks.generate.chat import CHAT_TEMPLATE_MODE, chat_template_digest, load_tokenizer, prompt_token_ids
from tasks.generate.nll import nll_sample, response_nll
from tasks.generate.prompts import Prompt, load_prompt_pool, sample_prompt, stable_int
from tasks.generate.seed import render_seed_description
from tasks.generate.shards import ShardStore, ShardWriter, fingerprint, work_dir_lock
from tasks.generate.vllm_server import local_vllm_server
from tasks.manifest import read_manifest
from tasks.params import REPO_ROOT, Params
from tasks.progress import Progress
from tasks.rows import (
    generation_messages,
    read_rows,
    response_flags,
    training_messages,
    write_rows,
)

log = logging.getLogger("destaflow.generate")


class SelfGenerationError(ValueError):
    """The generator is not the backbone and no override was given."""


@dataclass(frozen=True)
class Generator:
    model: str  # the name rows record (and vLLM serves it under)
    model_dir: str  # what from_pretrained loads (tokenizer, transformers backend)
    revision: str
    foreign_override: bool


@dataclass(frozen=True)
class PlannedRow:
    """One clip's generation input and the fixed parts of its training row."""

    record: dict
    seed_description: str
    prompt: Prompt
    seed: int


def repo_path(path: str) -> Path:
    """A local setting path: as given if absolute, else relative to the repository root."""
    return Path(path) if Path(path).is_absolute() else REPO_ROOT / path


def resolve_generator(params: Params) -> Generator:
    """The generator LLM: the backbone (self-generation) unless explicitly and visibly overridden."""
    from model.base_models import base_model_revision, resolve_base_model

    name, backbone = params.generator_llm, params.model.llm
    foreign = name != backbone
    if foreign and not params.generate.allow_foreign_generator:
        raise SelfGenerationError(
            f"generate.generator={name!r} is not the backbone model.llm={backbone!r}; self-generation needs the "
            "backbone to write its own targets. Remove generate.generator or set allow_foreign_generator: true")
    revision = params.model.llm_revision if not foreign else None
    return Generator(model=name, model_dir=resolve_base_model(name, revision), foreign_override=foreign,
                     revision=base_model_revision(name, revision))


def check_served_model(generator: Generator, endpoints: list[str], allow_foreign: bool,
                       policy: RetryPolicy) -> Generator:
    """External servers must serve the generator under its name; anything else is refused or recorded."""
    for endpoint in endpoints:
        served = served_models(endpoint, policy)
        if generator.model in served:
            continue
        if not allow_foreign:
            raise SelfGenerationError(
                f"{endpoint} serves {served}, not the generator {generator.model!r} (the backbone): start vLLM "
                f"with --served-model-name {generator.model} and the backbone's weights, or set "
                "generate.allow_foreign_generator: true to use the served model (recorded as foreign)")
        log.warning("%s serves %s, not %s: generating with %s (foreign_override)", endpoint, served,
                    generator.model, served[0])
        return Generator(model=served[0], model_dir=generator.model_dir, revision=f"served-by:{endpoint}",
                         foreign_override=True)
    return generator


def plan_rows(params: Params) -> list[PlannedRow]:
    gen = params.generate
    frame = read_manifest(gen.manifest)
    pool = load_prompt_pool(gen.prompt_pool)
    planned = []
    for record in frame.to_dict(orient="records"):
        record = {key: None if value is pd.NA else value for key, value in record.items()}
        planned.append(PlannedRow(record=record, seed_description=render_seed_description(record),
                                  prompt=sample_prompt(pool, record["kind"], gen.seed, record["id"]),
                                  seed=stable_int(gen.seed, "sampling", record["id"]) % 2**31))
    return planned


def sampling_of(params: Params) -> Sampling:
    gen = params.generate
    return Sampling(max_tokens=gen.max_new_tokens, temperature=gen.temperature, top_p=gen.top_p,
                    repetition_penalty=gen.repetition_penalty)


def attempt_seed(plan: PlannedRow, attempt: int) -> int:
    """The sampling seed of a row's n-th try: the row's own seed first, then fresh but reproducible ones."""
    return plan.seed if attempt == 1 else stable_int(plan.seed, "attempt", attempt) % 2**31


def generation_request(plan: PlannedRow, attempt: int, tokenizer, params: Params) -> GenerationRequest:
    messages = generation_messages(params.generate.generation_system_prompt, plan.seed_description, plan.prompt.text)
    return GenerationRequest(row_id=plan.record["id"], seed=attempt_seed(plan, attempt),
                             prompt_ids=prompt_token_ids(tokenizer, messages))


def build_row(plan: PlannedRow, completion: Completion, attempt: int, generator: Generator, params: Params,
              backend: str, chat_template: str) -> dict:
    gen, record = params.generate, plan.record
    response = completion.text.strip()
    return {
        "id": record["id"],
        "dataset": record["source"],
        "kind": record["kind"],
        "split": record["split"],
        "messages": training_messages(gen.system_prompt, params.model.audio_locator, plan.prompt.text,
                                      record["path"], record["transcript"]),
        "response": response,
        "seed_description": plan.seed_description,
        "prompt": plan.prompt.text,
        "prompt_id": plan.prompt.id,
        "generator": {
            "model": generator.model, "revision": generator.revision, "backend": backend,
            "endpoint": completion.endpoint, "chat_template": chat_template,
            "generation_system_prompt": gen.generation_system_prompt,
            "sampling": {"temperature": gen.temperature, "top_p": gen.top_p, "max_tokens": gen.max_new_tokens,
                         "repetition_penalty": gen.repetition_penalty, "seed": attempt_seed(plan, attempt)},
            "foreign_override": generator.foreign_override,
        },
        "finish_reason": completion.finish_reason,
        "response_tokens": completion.tokens,
        "attempts": attempt,
        "flags": response_flags(response, completion.finish_reason, plan.seed_description, plan.prompt.text,
                                gen.generation_system_prompt, params.validate_generated.refusal_phrases),
    }


def states_described_value(row: dict, categories: dict[str, str]) -> bool:
    """False only for an answer to an attribute question that does not state the described value."""
    judgement = judge_row(row, categories)
    return judgement is None or judgement.outcome == "grounded"


def run_fingerprint(params: Params, planned: list[PlannedRow], generator: Generator, chat_template: str) -> dict:
    """Everything that decides the rows' content (not endpoints, concurrency or shard size)."""
    gen = params.generate
    rows_digest = hashlib.sha256()
    for plan in planned:
        record = plan.record
        fields = (record["id"], record["path"], record["source"], record["kind"], record["split"],
                  record["transcript"], plan.seed_description, plan.prompt.id, plan.prompt.text)
        rows_digest.update(("\x1f".join(map(str, fields)) + "\x1e").encode())
    return {
        "rows": len(planned), "rows_sha256": rows_digest.hexdigest(), "backend": gen.backend,
        "generator": {"model": generator.model, "revision": generator.revision,
                      "foreign_override": generator.foreign_override},
        "chat_template": chat_template, "system_prompt": gen.system_prompt,
        "generation_system_prompt": gen.generation_system_prompt,
        "audio_locator": params.model.audio_locator, "seed": gen.seed, "max_attempts": gen.max_attempts,
        "retry_ungrounded": gen.retry_ungrounded,
        "refusal_phrases": params.validate_generated.refusal_phrases,
        "sampling": {"temperature": gen.temperature, "top_p": gen.top_p, "max_tokens": gen.max_new_tokens,
                     "repetition_penalty": gen.repetition_penalty},
    }


def generate_rows(params: Params) -> dict:
    """Run (or resume) generation and write `generate.out`; returns the stage metrics (NLL not included)."""
    with work_dir_lock(params.generate.work_dir):
        return _generate_rows(params)


def _generate_rows(params: Params) -> dict:
    gen = params.generate
    planned = plan_rows(params)
    by_id = {plan.record["id"]: plan for plan in planned}
    policy = RetryPolicy(timeout_s=gen.request_timeout_s, max_retries=gen.max_retries, backoff_s=gen.backoff_s)
    generator = resolve_generator(params)
    if gen.backend == "vllm" and gen.endpoints:
        generator = check_served_model(generator, gen.endpoints, gen.allow_foreign_generator, policy)
    tokenizer = load_tokenizer(generator.model_dir)
    chat_template = f"{CHAT_TEMPLATE_MODE}:{chat_template_digest(tokenizer)}"
    inputs = run_fingerprint(params, planned, generator, chat_template)
    store = ShardStore(gen.work_dir, fingerprint(inputs), inputs)
    done = store.done_ids()
    pending = [plan for plan in planned if plan.record["id"] not in done]
    log.info("generate: %d rows, %d already in %s, %d to generate", len(planned), len(done), store.dir, len(pending))

    writer = ShardWriter(store, gen.shard_rows)
    # Prompt id -> category, when answers to attribute questions that miss the described value are asked again.
    categories = ({prompt.id: prompt.category for prompt in load_prompt_pool(repo_path(gen.prompt_pool))}
                  if gen.retry_ungrounded else {})
    generated = Counter()
    attempts = {plan.record["id"]: 1 for plan in pending}
    retry: list[str] = []

    def on_done(completion: Completion) -> None:
        attempt = attempts[completion.row_id]
        row = build_row(by_id[completion.row_id], completion, attempt, generator, params, gen.backend, chat_template)
        generated.update(requests=1, tokens=completion.tokens)
        if (row["flags"] or not states_described_value(row, categories)) and attempt < gen.max_attempts:
            retry.append(completion.row_id)  # only the final try is written: a resumed run starts it over
            return
        writer.add(row)
        generated.update(rows=1)
        seconds = time.perf_counter() - timings["generation_started"]
        progress.update(1, tok_s=f"{generated['tokens'] / seconds:.0f}" if seconds else "?",
                        requests=generated["requests"])

    def rounds():
        """Request lists: every pending row, then the flagged ones again until they pass or run out of tries."""
        requests = [generation_request(plan, 1, tokenizer, params) for plan in pending]
        while requests:
            yield requests
            for row_id in retry:
                attempts[row_id] += 1
            log.info("generate: %d flagged or ungrounded answers asked again", len(retry))
            requests = [generation_request(by_id[row_id], attempts[row_id], tokenizer, params)
                        for row_id in sorted(retry)]
            retry.clear()

    timings = {"server_start_s": 0.0, "generation_s": 0.0, "generation_started": time.perf_counter()}
    if pending:
        progress = Progress(total=len(pending), desc="generate", unit="rows")
        try:
            _run_backend(params, generator, rounds(), on_done, policy, store.dir, timings)
        finally:
            writer.flush()  # whatever finished survives a failure or Ctrl-C
            progress.close()

    rows = sorted(store.read_all(), key=lambda row: row["id"])
    missing = sorted(set(by_id) - {row["id"] for row in rows})
    if missing:
        raise RuntimeError(f"{len(missing)} rows missing after generation (first: {missing[:3]}); re-run to resume")
    write_rows(gen.out, rows)
    return stage_metrics(rows, generated, timings, generator, gen.backend, chat_template)


def _run_backend(params: Params, generator: Generator, rounds: Iterator[list[GenerationRequest]], on_done,
                 policy, run_dir: Path, timings: dict) -> None:
    """Run every round of requests on one backend (one local vLLM server for all rounds)."""
    gen, sampling = params.generate, sampling_of(params)
    if gen.backend == "transformers":
        backend = TransformersGenerator(generator.model_dir, gen.batch_size, params.model.dtype)
        started = timings["generation_started"] = time.perf_counter()
        for requests in rounds:
            backend.generate(requests, sampling, on_done)
        timings["generation_s"] = time.perf_counter() - started
        return
    started = time.perf_counter()
    server = nullcontext(None) if gen.endpoints else local_vllm_server(
        str(repo_path(gen.vllm_python)), generator.model_dir, generator.model, run_dir, port=gen.vllm_port,
        extra_args=gen.vllm_args, env=gen.vllm_env, startup_timeout_s=gen.vllm_startup_timeout_s)
    with server as local_url:
        timings["server_start_s"] = time.perf_counter() - started
        started = timings["generation_started"] = time.perf_counter()
        endpoints = [local_url] if local_url else list(gen.endpoints)
        for requests in rounds:
            generate_vllm(endpoints, generator.model, requests, sampling, policy, gen.concurrency, on_done)
        timings["generation_s"] = time.perf_counter() - started


def stage_metrics(rows: list[dict], generated: Counter, timings: dict, generator: Generator, backend: str,
                  chat_template: str) -> dict:
    flags = Counter(flag for row in rows for flag in row.get("flags", []))
    seconds = timings["generation_s"]
    return {
        "rows": len(rows),
        "rows_generated": generated["rows"],
        "rows_resumed": len(rows) - generated["rows"],
        "tokens": sum(row["response_tokens"] for row in rows),
        "tokens_generated": generated["tokens"],
        "requests": generated["requests"],
        "rows_retried": sum(1 for row in rows if row.get("attempts", 1) > 1),
        "generation_s": round(seconds, 3),
        "server_start_s": round(timings["server_start_s"], 3),
        "tokens_per_s": round(generated["tokens"] / seconds, 3) if seconds else None,
        "rows_per_s": round(generated["rows"] / seconds, 3) if seconds else None,
        "rows_flagged": sum(1 for row in rows if row.get("flags")),
        "flags": {reason: flags[reason] for reason in sorted(flags)},
        "finish_reasons": dict(sorted(Counter(row["finish_reason"] for row in rows).items())),
        "backend": backend,
        "generator": generator.model,
        "generator_revision": generator.revision,
        "foreign_override": generator.foreign_override,
        "chat_template": chat_template,
    }


def self_consistency(params: Params) -> dict:
    """Mean response NLL of the written rows under the backbone, on the configured sample."""
    from model.base_models import resolve_base_model

    gen = params.generate
    rows = nll_sample(read_rows(gen.out), gen.seed, gen.nll_sample_rows)
    backbone_dir = resolve_base_model(params.model.llm, params.model.llm_revision)
    return response_nll(backbone_dir, rows, params.model.dtype)
