"""The embedded suite: questions built from the corpus test split (the manifest of tasks/manifest.py), so
every label comes from how the clip was made. Per clip, each attribute it has becomes a multiple-choice
item — gender, pitch, speaking speed, volume, accent, sound category, note/chord pattern, speaker count —
with its options (at most `options.max_options`, the answer among them, order seeded per item) and a
chance level of 1/options, answered within `options.choice_max_new_tokens`; speech with a transcript also
gets a transcription item scored by corpus WER
after Whisper's English normaliser. Multiple-choice replies are scored with MMAU's string match.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tasks.corpus import labels
from tasks.evaluate.adapters.base import PREDICTION, SCORE, Adapter, percent, register
from tasks.evaluate.items import BenchmarkFormatError, Item
from tasks.evaluate.prompts import conversation, list_options
from tasks.evaluate.scoring import mmau_match, word_errors
from tasks.manifest import attributes_of, read_manifest

ACCENTS = sorted(set(labels.ESPEAK_ACCENTS.values()) | {v["accent"] for v in labels.FLITE_VOICES.values()})
SOUND_CATEGORIES = sorted({c for s in labels.LABEL_SETS.values() for c in s.get("category", [])})
SPEAKER_COUNTS = ("1", "2", "3", "4")
# attribute -> (the clip kind it applies to, the question, every possible answer)
QUESTIONS: dict[str, tuple[str, str, Sequence[str]]] = {
    "gender": ("speech", "What is the gender of the speaker?", labels.GENDERS),
    "pitch": ("speech", "How high is the speaker's voice?", labels.PITCH_LEVELS),
    "speed": ("speech", "How fast does the speaker talk?", labels.SPEED_LEVELS),
    "volume": ("speech", "How loud is the speech?", labels.VOLUME_LEVELS),
    "accent": ("speech", "Which accent does the speaker have?", ACCENTS),
    "category": ("sound", "What sound is this?", SOUND_CATEGORIES),
    "pattern": ("music", "Is this a single note, a chord or an arpeggio?", labels.MUSIC_PATTERNS),
    "num_speakers": ("speech", "How many different people speak in this recording?", SPEAKER_COUNTS),
}
TRANSCRIPTION = "transcription"


def answer_of(attribute: str, kind: str, values: dict) -> str | None:
    if attribute == "num_speakers" and kind == "speech":
        return str(values.get("num_speakers", 1))
    value = values.get(attribute)
    return value if isinstance(value, str) else None


@register
class Embedded(Adapter):
    name = "embedded"

    def _options(self, item_id: str, answer: str, candidates: Sequence[str]) -> list[str]:
        rng = random.Random(f"{self.suite.options.get('seed', 0)}:{item_id}")
        others = [c for c in candidates if c != answer]
        chosen = rng.sample(others, min(len(others), self.suite.options.get("max_options", 4) - 1)) + [answer]
        rng.shuffle(chosen)
        return chosen

    def read(self, url: str) -> list[Item]:
        frame = read_manifest(url)
        split = self.suite.options.get("split", "test")
        test = frame[frame["split"] == split]
        if test.empty:
            raise BenchmarkFormatError(f"{url}: no clips in split {split!r}; the embedded suite reads that split")
        items = []
        for _, row in test.iterrows():
            values = attributes_of(row)
            for attribute, (kind, question, candidates) in QUESTIONS.items():
                answer = answer_of(attribute, row["kind"], values)
                if row["kind"] != kind or answer is None or answer not in candidates:
                    continue
                item_id = f"{row['id']}/{attribute}"
                options = self._options(item_id, answer, candidates)
                items.append(Item(
                    id=item_id, messages=self.messages(row["path"], question=question, options=list_options(options)),
                    audio=row["path"], reference={"answer": answer, "choices": options},
                    groups={"attribute": attribute}, kind=row["kind"], source={"clip": row["id"]},
                    max_new_tokens=self.suite.options.get("choice_max_new_tokens"),
                ))
            if row["kind"] == "speech" and str(row["transcript"]).strip():
                prompt = self.suite.options["transcription_prompt"]
                items.append(Item(
                    id=f"{row['id']}/{TRANSCRIPTION}",
                    messages=conversation(prompt["system"], prompt["user"], row["path"]),
                    audio=row["path"], reference={"transcript": str(row["transcript"])},
                    groups={"attribute": TRANSCRIPTION}, kind="speech", source={"clip": row["id"]},
                ))
        return items

    def parse(self, item: Item, output: str) -> str:
        return output.strip()

    def score(self, item: Item, prediction: str) -> dict:
        reference = item.reference
        if item.groups["attribute"] == TRANSCRIPTION:
            errors, words = word_errors(reference["transcript"], prediction)
            return {SCORE: None, "word_errors": errors, "words": words}
        return {SCORE: float(mmau_match(reference["answer"], prediction, reference["choices"])),
                "chance": 1.0 / len(reference["choices"])}

    def summarize(self, records: Sequence[dict]) -> dict:
        scored = [r for r in records if r.get(PREDICTION) is not None]
        by_attribute = {}
        for attribute in QUESTIONS:
            rows = [r for r in scored if r["groups"]["attribute"] == attribute]
            if rows:
                by_attribute[attribute] = {"accuracy": percent(sum(r[SCORE] for r in rows), len(rows)),
                                           "chance": percent(sum(r["chance"] for r in rows), len(rows)),
                                           "n": len(rows)}
        choice_rows = [r for r in scored if r["groups"]["attribute"] != TRANSCRIPTION]
        asr_rows = [r for r in scored if r["groups"]["attribute"] == TRANSCRIPTION]
        words = sum(r["words"] for r in asr_rows)
        return {
            "accuracy": percent(sum(r[SCORE] for r in choice_rows), len(choice_rows)),
            "chance": percent(sum(r["chance"] for r in choice_rows), len(choice_rows)),
            "n": len(choice_rows),
            "by_attribute": by_attribute,
            "wer": percent(sum(r["word_errors"] for r in asr_rows), words) if words else None,
            "wer_items": len(asr_rows),
            "no_prediction": len(records) - len(scored),
        }

    def tables(self, metrics: dict) -> str:
        lines = ["| attribute | accuracy (%) | chance (%) | items |", "|---|---|---|---|"]
        lines += [f"| {name} | {row['accuracy']:.2f} | {row['chance']:.2f} | {row['n']} |"
                  for name, row in metrics["by_attribute"].items()]
        lines.append(f"| **all multiple choice** | {metrics['accuracy']:.2f} | {metrics['chance']:.2f} | {metrics['n']} |")
        wer = metrics["wer"]
        lines.append(f"| transcription WER (%) | {'n/a' if wer is None else f'{wer:.2f}'} | | {metrics['wer_items']} |")
        return "\n".join(lines)

    def results(self, items: Sequence[Item], records: Sequence[dict]) -> list[dict]:
        return list(records)

    def read_results(self, url: str) -> list[dict]:
        from tasks.evaluate.items import read_jsonl

        return [row for _, row in read_jsonl(url)]
