"""Generation backends. Both take token-id prompts (see chat.py) and report each finished row.

- vLLM: concurrent requests to vLLM's OpenAI-compatible `/v1/completions` over httpx, spread across
  one or several endpoints (replicas), retried with exponential backoff on connection errors,
  timeouts, 408/429 and 5xx, each retry on the next endpoint.
- transformers: in-process batched `generate` with left padding, for machines without vLLM.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Callable

import httpx

RETRYABLE_STATUS = {408, 429}


@dataclass(frozen=True)
class GenerationRequest:
    row_id: str
    prompt_ids: list[int]
    seed: int


@dataclass(frozen=True)
class Completion:
    row_id: str
    text: str
    finish_reason: str  # "stop" | "length"
    tokens: int  # generated tokens, the end-of-turn token included
    endpoint: str


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float
    top_p: float
    repetition_penalty: float = 1.0
    # Benchmarks: every answer runs to max_tokens (end-of-turn ignored), so both backends do equal work.
    ignore_eos: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float
    max_retries: int
    backoff_s: float

    def delay(self, attempt: int) -> float:
        return self.backoff_s * 2**attempt


class GenerationFailed(RuntimeError):
    """A row could not be generated; finished rows are already in their shards."""


OnDone = Callable[[Completion], None]


# ---------------------------------------------------------------------------------------------- vLLM
def served_models(endpoint: str, policy: RetryPolicy) -> list[str]:
    """Model names a vLLM server serves (GET /v1/models), retried like generation requests."""
    return asyncio.run(_with_retries([endpoint], policy, "GET", "/v1/models", None, "listing served models",
                                     _model_ids, 0))


def _model_ids(body: dict, endpoint: str) -> list[str]:
    return [model["id"] for model in body.get("data", [])]


async def _with_retries(endpoints: list[str], policy: RetryPolicy, method: str, path: str, payload: dict | None,
                        what: str, parse: Callable[[dict, str], object], first: int,
                        client: httpx.AsyncClient | None = None):
    last_error = "no attempt made"
    owns_client = client is None
    client = client or httpx.AsyncClient()
    try:
        for attempt in range(policy.max_retries + 1):
            endpoint = endpoints[(first + attempt) % len(endpoints)]
            try:
                response = await client.request(method, endpoint + path, json=payload, timeout=policy.timeout_s)
            except httpx.TransportError as error:  # connection refused/reset, timeouts
                last_error = f"{endpoint}: {type(error).__name__}: {error or 'no detail'}"
            else:
                if response.status_code == 200:
                    return parse(response.json(), endpoint)
                last_error = f"{endpoint}: HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code < 500 and response.status_code not in RETRYABLE_STATUS:
                    raise GenerationFailed(f"{what}: the server refused the request ({last_error})")
            if attempt < policy.max_retries:
                await asyncio.sleep(policy.delay(attempt))
        raise GenerationFailed(f"{what}: no answer after {policy.max_retries + 1} attempt(s); last error: {last_error}")
    finally:
        if owns_client:
            await client.aclose()


def _completion_parser(row_id: str):
    def parse(body: dict, endpoint: str) -> Completion:
        choice = body["choices"][0]
        return Completion(row_id=row_id, text=choice["text"], finish_reason=choice.get("finish_reason") or "stop",
                          tokens=int(body.get("usage", {}).get("completion_tokens", 0)), endpoint=endpoint)
    return parse


def generate_vllm(endpoints: list[str], served_model: str, requests: list[GenerationRequest], sampling: Sampling,
                  policy: RetryPolicy, concurrency: int, on_done: OnDone) -> None:
    """Generate every request; `on_done` runs for each row as it finishes. Raises GenerationFailed."""
    try:
        asyncio.run(_generate_vllm(endpoints, served_model, requests, sampling, policy, concurrency, on_done))
    except* GenerationFailed as group:
        raise group.exceptions[0] from None


async def _generate_vllm(endpoints, served_model, requests, sampling, policy, concurrency, on_done) -> None:
    queue = iter(requests)
    spread = itertools.count()  # request n starts on endpoint n % len(endpoints)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        for request in queue:  # one shared iterator: each request is taken by exactly one worker
            payload = {"model": served_model, "prompt": request.prompt_ids, "max_tokens": sampling.max_tokens,
                       "temperature": sampling.temperature, "top_p": sampling.top_p,
                       "repetition_penalty": sampling.repetition_penalty, "seed": request.seed,
                       "ignore_eos": sampling.ignore_eos}
            completion = await _with_retries(endpoints, policy, "POST", "/v1/completions", payload,
                                              f"row {request.row_id!r}", _completion_parser(request.row_id),
                                              next(spread), client)
            on_done(completion)

    async with httpx.AsyncClient(limits=limits) as client, asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(requests))):
            group.create_task(worker(client))


# -------------------------------------------------------------------------------------- transformers
class TransformersGenerator:
    """Batched greedy/sampled generation in this process (left padding)."""

    def __init__(self, model_dir: str, batch_size: int, dtype: str = "float32"):
        import torch
        from transformers import AutoModelForCausalLM

        from tasks.generate.chat import load_tokenizer

        self.torch = torch
        self.tokenizer = load_tokenizer(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
        self.batch_size = batch_size
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)

    def generate(self, requests: list[GenerationRequest], sampling: Sampling, on_done: OnDone) -> None:
        # Similar lengths together: less padding. Sorting by (length, id) keeps batches deterministic.
        ordered = sorted(requests, key=lambda request: (len(request.prompt_ids), request.row_id))
        for start in range(0, len(ordered), self.batch_size):
            for completion in self._batch(ordered[start:start + self.batch_size], sampling):
                on_done(completion)

    def _batch(self, batch: list[GenerationRequest], sampling: Sampling) -> list[Completion]:
        torch = self.torch
        width = max(len(request.prompt_ids) for request in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for index, request in enumerate(batch):
            input_ids[index, width - len(request.prompt_ids):] = torch.tensor(request.prompt_ids)
            attention[index, width - len(request.prompt_ids):] = 1
        sample = sampling.temperature > 0
        if sample:
            # One seed per batch: sampled rows depend on batch composition (use vLLM for per-row seeds).
            torch.manual_seed(batch[0].seed)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids, attention_mask=attention, max_new_tokens=sampling.max_tokens,
                do_sample=sample, pad_token_id=self.pad_id, repetition_penalty=sampling.repetition_penalty,
                min_new_tokens=sampling.max_tokens if sampling.ignore_eos else None,
                **({"temperature": sampling.temperature, "top_p": sampling.top_p} if sample else {}),
            )
        return [self._completion(request, output[index, width:].tolist(), sampling.ignore_eos)
                for index, request in enumerate(batch)]

    def _completion(self, request: GenerationRequest, new_ids: list[int], ignore_eos: bool) -> Completion:
        stop = None if ignore_eos else next(
            (position for position, token in enumerate(new_ids) if token in self.eos_ids), None)
        kept = new_ids if stop is None else new_ids[:stop]
        return Completion(row_id=request.row_id, text=self.tokenizer.decode(kept, skip_special_tokens=True),
                          finish_reason="length" if stop is None else "stop",
                          tokens=len(new_ids) if stop is None else stop + 1, endpoint="in-process")
