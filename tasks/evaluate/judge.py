"""LLM judges for open-ended answers: an OpenAI-compatible endpoint (`/v1/chat/completions`, e.g. a vLLM
server or a hosted model) or the local backbone LLM through transformers. Every score records `judge.name`.
The wording of the judge prompts is ours; the scales follow VoiceBench (1-5 rating; yes/no correctness)."""

from __future__ import annotations

from functools import cached_property

import httpx

RATING_PROMPT = (
    "You grade a voice assistant. The user spoke an instruction (given here as a transcript) and the "
    "assistant replied. Rate the reply from 1 to 5: 1 = irrelevant or wrong, 2 = partly relevant but inaccurate "
    "or incomplete, 3 = relevant and mostly accurate but padded, 4 = relevant, accurate and concise, "
    "5 = exactly what was needed.\n\nInstruction: {prompt}\nReply: {response}\n\nAnswer with the number only."
)
CORRECTNESS_PROMPT = (
    "Question: {prompt}\nReference answer: {reference}\nCandidate answer: {response}\n\n"
    "Does the candidate answer agree with the reference answer? Answer Yes or No only."
)


class JudgeError(RuntimeError):
    """The judge could not be reached or answered nothing usable."""


class EndpointJudge:
    def __init__(self, endpoint: str, model: str, timeout_s: float = 120.0, api_key: str | None = None):
        self.endpoint, self.model, self.timeout_s = endpoint.rstrip("/"), model, timeout_s
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.name = f"{model} @ {self.endpoint}"

    def ask(self, prompt: str) -> str:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                "temperature": 0.0, "max_tokens": 16}
        try:
            response = httpx.post(f"{self.endpoint}/v1/chat/completions", json=body, headers=self.headers,
                                  timeout=self.timeout_s)
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as error:
            raise JudgeError(f"judge {self.name} failed: {error}; check evaluate.judge.endpoint") from None


class LocalJudge:
    """The backbone LLM (a local folder) answering greedily, loaded on first use."""

    def __init__(self, llm_path: str):
        self.llm_path = llm_path
        self.name = f"local backbone {llm_path}"

    @cached_property
    def _model(self):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        return AutoTokenizer.from_pretrained(self.llm_path), AutoModelForCausalLM.from_pretrained(self.llm_path)

    def ask(self, prompt: str) -> str:
        import torch

        tokenizer, model = self._model
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=16, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def make_judge(endpoint: str | None, model: str | None, backbone_path: str):
    """The configured endpoint judge, or the local backbone when no endpoint is set."""
    if endpoint:
        return EndpointJudge(endpoint, model or "judge")
    return LocalJudge(backbone_path)
