"""Prompts in DeSTA2.5's evaluation conventions (its docs/evaluation_tips.md and MMAU inference script):
a system turn, the clip's `<|AUDIO|>` locator, the instruction, and the options listed in quotes with "or"
before the last one. The templates themselves live in each suite's YAML; this module fills them."""

from __future__ import annotations

from collections.abc import Sequence

AUDIO_LOCATOR = "<|AUDIO|>"


def list_options(options: Sequence[str]) -> str:
    """'"a", "b", "c" or "d"' — the reference's option list (one option: '"a"')."""
    quoted = [f'"{option}"' for option in options]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def conversation(system: str, user_template: str, audio: str | None, **fields) -> list[dict]:
    """Reference message format: a system turn and a user turn whose content has one locator per audio."""
    content = user_template.format(**fields)
    user = {"role": "user", "content": content}
    if audio is not None:
        if content.count(AUDIO_LOCATOR) != 1:
            raise ValueError(f"the suite's user template must hold {AUDIO_LOCATOR} exactly once: {user_template!r}")
        user["audios"] = [{"audio": audio}]
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, user]


def prompt_text(messages: Sequence[dict]) -> str:
    """The conversation as one readable string for the per-item records."""
    return "\n".join(f"[{message['role']}] {message['content']}" for message in messages)
