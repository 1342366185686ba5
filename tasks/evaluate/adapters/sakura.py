"""SAKURA: tracks (Animal, Emotion, Gender, Language), each `<track>/metadata.json` mapping an audio path
(relative to the SAKURA root, e.g. "data/Animal/audio/dog28.wav") to `attribute_label, single_instruction,
single_answer, multi_instruction, multi_answer`. Each clip gives a single-hop and a multi-hop item; the
options "(a) ... (d)" are inside the instruction. Accuracy per track and hop.

SAKURA's own scorer is an LLM judge applying one criterion: exactly one option chosen and it is the answer.
Here that criterion is applied as a rule (tasks.evaluate.scoring.lettered_option_match). The results files
are SAKURA's model-response format, one per track and hop: `{"attribute", "type", "results": {path:
{"instruction", "response", "label"}}}`; a judgements file (results with "Judgement") is scored by its
judgements as SAKURA's calculate_acc does (anything but correct/incorrect counts as wrong)."""

from __future__ import annotations

from collections.abc import Sequence

from tasks.evaluate.adapters.base import PREDICTION, SCORE, Adapter, register
from tasks.evaluate.items import BenchmarkFormatError, Item, named_files, read_json, require
from tasks.evaluate.scoring import lettered_option_match

TRACKS = ("Animal", "Emotion", "Gender", "Language")
HOPS = ("single", "multi")
FIELDS = {"attribute_label": str, **{f"{hop}_{part}": str for hop in HOPS for part in ("instruction", "answer")}}


def metadata_files(url: str) -> list[tuple[str, str]]:
    """(track, metadata.json URL): the url itself when it is one file, else every track folder under it."""
    if url.endswith(".json"):
        return [(url.rstrip("/").split("/")[-2], url)]
    return named_files(url, TRACKS, "{}/metadata.json")


@register
class Sakura(Adapter):
    name = "sakura"
    group_order = {"track": TRACKS, "hop": HOPS, "track_hop": ()}

    def read(self, url: str) -> list[Item]:
        items = []
        for track, file in metadata_files(url):
            data = read_json(file)
            if not isinstance(data, dict):
                raise BenchmarkFormatError(f"{file}: line 1: expected an object keyed by audio path")
            for path, entry in data.items():
                require(entry, FIELDS, f"{file}: entry {path!r}")
                for hop in HOPS:
                    instruction, answer = entry[f"{hop}_instruction"], entry[f"{hop}_answer"]
                    items.append(Item(
                        id=f"{track}/{hop}/{path}", messages=self.messages(path, instruction=instruction),
                        audio=path, reference={"instruction": instruction, "label": answer},
                        groups={"track": track, "hop": hop, "track_hop": f"{track}-{hop}"},
                        source={"attribute": track, "type": hop, "path": path},
                    ))
        return items

    def score(self, item: Item, prediction: str) -> dict:
        reference = item.reference
        return {SCORE: float(lettered_option_match(reference["label"], prediction, reference["instruction"]))}

    def results(self, items: Sequence[Item], records: Sequence[dict]) -> list[dict]:
        files: dict[tuple[str, str], dict] = {}
        for item, record in zip(items, records, strict=True):
            if record[PREDICTION] is None:
                continue
            track, hop = item.groups["track"], item.groups["hop"]
            entry = files.setdefault((track, hop), {"attribute": track, "type": hop, "results": {}})
            entry["results"][item.source["path"]] = {
                "instruction": item.reference["instruction"], "response": record["output"],
                "label": item.reference["label"], "match": int(record[SCORE]),
            }
        return list(files.values())

    def read_results(self, url: str) -> list[dict]:
        data = read_json(url)
        files = data if isinstance(data, list) else [data]
        records = []
        for number, entry in enumerate(files):
            where = f"{url}: file entry {number}"
            require(entry, {"attribute": str, "type": str, "results": dict}, where)
            for path, result in entry["results"].items():
                require(result, {"instruction": str, "label": str}, f"{where}, result {path!r}")
                item = Item(id=f"{entry['attribute']}/{entry['type']}/{path}", messages=[], audio=path,
                            reference={"instruction": result["instruction"], "label": result["label"]},
                            groups={"track": entry["attribute"], "hop": entry["type"],
                                    "track_hop": f"{entry['attribute']}-{entry['type']}"})
                if "Judgement" in result:
                    judged = float(str(result["Judgement"]).strip().lower() == "correct")
                    records.append({**self.record(item, None, prediction=result.get("response", "")), SCORE: judged})
                else:
                    records.append(self.record(item, result.get("response"), prediction=result.get("response")))
        return records
