"""The instruction pool and the deterministic choice of one instruction per clip.

Pool file: JSONL, one {"id", "kind", "category", "text"} per line. `kind` says which clips a prompt
suits: "speech", "sound", "music", or "sound_music" (both sound and music clips).
The choice depends only on (seed, clip id, pool), through SHA-256, so it is stable across Python
runs (no `hash()` salt), machines and manifest row order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tasks.params import REPO_ROOT

POOL_KINDS = ("speech", "sound", "music", "sound_music")
# Which pool kinds a clip of each manifest kind draws from.
ELIGIBLE_KINDS = {
    "speech": ("speech",),
    "sound": ("sound", "sound_music"),
    "music": ("music", "sound_music"),
}


@dataclass(frozen=True)
class Prompt:
    id: str
    kind: str
    category: str
    text: str


def load_prompt_pool(path: str | Path) -> list[Prompt]:
    """Read and check a pool file (generate.prompt_pool; a relative path is under the repository root);
    raise ValueError naming the file and line for a bad row."""
    path = Path(path) if Path(path).is_absolute() else REPO_ROOT / path
    prompts, seen = [], set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            prompt = Prompt(**json.loads(line))
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"{where}: expected a JSON object with id, kind, category, text ({error})") from None
        if prompt.kind not in POOL_KINDS:
            raise ValueError(f"{where}: kind {prompt.kind!r} is not one of {POOL_KINDS}")
        if not prompt.text.strip() or not prompt.category:
            raise ValueError(f"{where}: prompt {prompt.id!r} needs a non-empty text and category")
        if prompt.id in seen:
            raise ValueError(f"{where}: duplicate prompt id {prompt.id!r}")
        seen.add(prompt.id)
        prompts.append(prompt)
    if not prompts:
        raise ValueError(f"{path}: the prompt pool is empty")
    return prompts


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts, identical in every Python process."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def prompts_for_kind(pool: list[Prompt], kind: str) -> list[Prompt]:
    if kind not in ELIGIBLE_KINDS:
        raise ValueError(f"clip kind {kind!r} is not one of {tuple(ELIGIBLE_KINDS)}")
    eligible = [prompt for prompt in pool if prompt.kind in ELIGIBLE_KINDS[kind]]
    if not eligible:
        raise ValueError(f"the prompt pool has no prompt for {kind} clips (pool kinds {ELIGIBLE_KINDS[kind]})")
    return eligible


def sample_prompt(pool: list[Prompt], kind: str, seed: int, row_id: str) -> Prompt:
    """The prompt for one clip: a hash of (seed, clip id) indexes the prompts eligible for its kind."""
    eligible = prompts_for_kind(pool, kind)
    return eligible[stable_int(seed, row_id) % len(eligible)]
