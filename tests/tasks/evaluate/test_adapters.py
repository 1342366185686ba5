"""Each adapter reads its official-format fixture and reproduces the fixture's scores."""

import json
from pathlib import Path

import pytest

from tasks.evaluate.items import BenchmarkFormatError
from tasks.evaluate.judge import LocalJudge
from tasks.evaluate.registry import load_suite

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[3]


def adapter(name, **overrides):
    return load_suite(name, **overrides).adapter_instance


class TestMMAU:
    results = str(FIXTURES / "mmau_results.json")

    def test_reads_items_with_the_reference_prompt(self):
        items = adapter("mmau", data=self.results).read(self.results)
        assert [item.id for item in items] == ["m1", "m2", "m3", "m4", "m5"]
        system, user = items[0].messages
        assert system["content"].startswith("Focus on the audio clips and instructions. Put your answer in the format")
        assert user["content"] == ('<|AUDIO|>\n\nWhat is the source of the sound? Choose from the following options: '
                                   '"Dog", "Cat", "Bird" or "Cow"')
        assert user["audios"] == [{"audio": "./test-mini-audios/m1.wav"}]
        assert items[0].groups == {"task": "sound", "difficulty": "easy", "sub-category": "Acoustic Source Inference"}

    def test_score_reproduces_the_stored_matches_and_tables(self):
        mmau = adapter("mmau")
        records = mmau.read_results(self.results)
        stored = {row["id"]: row.get("match") for row in json.loads(Path(self.results).read_text())}
        assert {r["id"]: int(r["score"]) for r in records if r["prediction"] is not None} == \
            {key: value for key, value in stored.items() if value is not None}
        metrics = mmau.summarize(records)
        assert metrics["accuracy"] == 50.0 and metrics["n"] == 4 and metrics["no_prediction"] == 1
        assert metrics["by_task"] == {"sound": {"accuracy": 100.0, "n": 1}, "music": {"accuracy": 50.0, "n": 2},
                                      "speech": {"accuracy": 0.0, "n": 1}}
        table = mmau.tables(metrics)
        assert "Task-wise Accuracy:\nsound : 100.00% over 1 samples\nmusic : 50.00% over 2 samples" in table
        assert "Difficulty-wise Accuracy:\neasy : 100.00% over 1 samples\nhard : 100.00% over 1 samples\n" \
               "medium : 0.00% over 2 samples" in table
        assert "Instrumentation : 50.00% over 2 samples" in table
        assert "Total Accuracy: 50.00% over 4 samples" in table and table.endswith("No prediction count: 1")

    def test_model_output_prefix_is_stripped_before_scoring(self):
        mmau = adapter("mmau")
        item = mmau.read(self.results)[0]
        record = mmau.record(item, 'The correct answer is: "Dog".')
        assert record["prediction"] == '"Dog".' and record["score"] == 1.0

    def test_results_round_trip(self, tmp_path):
        mmau = adapter("mmau")
        items = mmau.read(self.results)
        records = [mmau.record(item, "The correct answer is: Dog") for item in items]
        out = tmp_path / "results.json"
        out.write_text(json.dumps(mmau.results(items, records)))
        rows = json.loads(out.read_text())
        assert rows[0]["model_output"] == "The correct answer is: Dog" and rows[0]["model_prediction"] == "Dog"
        assert [row["match"] for row in rows] == [1, 0, 0, 0, 0]
        assert mmau.summarize(mmau.read_results(str(out)))["accuracy"] == 20.0

    def test_malformed_item_names_file_and_line(self, tmp_path):
        rows = json.loads(Path(self.results).read_text())
        del rows[1]["choices"]
        bad = tmp_path / "mmau.json"
        bad.write_text(json.dumps(rows, indent=2))
        line = json.dumps(rows, indent=2).splitlines().index("  {", 2) + 1
        with pytest.raises(BenchmarkFormatError, match=rf"mmau.json: line {line}: missing field 'choices'"):
            adapter("mmau").read(str(bad))

    def test_broken_json_names_the_line(self, tmp_path):
        bad = tmp_path / "mmau.json"
        bad.write_text('[\n  {"id": "x",\n  oops\n]')
        with pytest.raises(BenchmarkFormatError, match="mmau.json: line 3: not valid JSON"):
            adapter("mmau").read(str(bad))

    def test_unknown_task_is_refused(self, tmp_path):
        rows = json.loads(Path(self.results).read_text())
        rows[0]["task"] = "noise"
        bad = tmp_path / "mmau.json"
        bad.write_text(json.dumps(rows))
        with pytest.raises(BenchmarkFormatError, match="line 1: task 'noise'"):
            adapter("mmau").read(str(bad))


def test_dynamic_superb_normalised_exact_match():
    file = str(FIXTURES / "dynamic_superb_emotion.jsonl")
    superb = adapter("dynamic_superb")
    items = superb.read(file)
    assert items[0].messages[-1]["content"].startswith("<|AUDIO|> What emotion")
    metrics = superb.summarize(superb.read_results(file))
    assert metrics["accuracy"] == pytest.approx(200 / 3)
    assert metrics["by_task"] == {"dynamic_superb_emotion": {"accuracy": pytest.approx(200 / 3), "n": 3}}


def test_dynamic_superb_broken_line(tmp_path):
    bad = tmp_path / "task.jsonl"
    bad.write_text('{"file": "a.wav", "instruction": "x", "label": "y"}\n{"file": \n')
    with pytest.raises(BenchmarkFormatError, match="task.jsonl: line 2: not valid JSON"):
        adapter("dynamic_superb").read(str(bad))


class TestSakura:
    def test_reads_tracks_and_hops(self):
        root = str(FIXTURES / "sakura")
        items = adapter("sakura", data=root).read(root)
        assert [(i.groups["track"], i.groups["hop"]) for i in items] == [
            ("Animal", "single"), ("Animal", "multi"), ("Gender", "single"), ("Gender", "multi")]
        assert items[0].audio == "data/Animal/audio/dog1.wav"

    def test_rule_scores_per_track_and_hop(self):
        sakura = adapter("sakura")
        items = sakura.read(str(FIXTURES / "sakura"))
        replies = ["It is a dog.", "(a) Feathers", "female", "b"]
        metrics = sakura.summarize([sakura.record(i, r) for i, r in zip(items, replies, strict=True)])
        assert metrics["by_track"]["Animal"] == {"accuracy": 50.0, "n": 2}
        assert metrics["by_track"]["Gender"] == {"accuracy": 100.0, "n": 2}
        assert metrics["by_hop"] == {"single": {"accuracy": 100.0, "n": 2}, "multi": {"accuracy": 50.0, "n": 2}}

    def test_judgements_file_scores_like_calculate_acc(self):
        sakura = adapter("sakura")
        metrics = sakura.summarize(sakura.read_results(str(FIXTURES / "sakura_animal_single_judgements.json")))
        # correct 1, incorrect 1, one invalid judgement counted in the total: 33.33 %
        assert metrics["accuracy"] == pytest.approx(100 / 3) and metrics["n"] == 3


def test_speech_ifeval_rates():
    root = str(FIXTURES / "speech_ifeval")
    ifeval = adapter("speech_ifeval", data=root)
    items = ifeval.read(root)
    assert len(items) == 4 and items[0].audio == "Automatic_speech_recognition/a.flac"
    assert ifeval.audio_root().endswith("speech_ifeval/audios")
    metrics = ifeval.summarize(ifeval.read_results(root))
    assert metrics["by_task_type"] == {"closed_ended_questions": {"if_rate": 50.0, "n": 2},
                                       "creative_writing": {"if_rate": 100.0, "n": 1}}
    assert metrics["if_rate"] == 75.0 and metrics["not_rule_scored"] == 1
    assert ifeval.compare(metrics, {"if_rate": 80.0})["forgetting_rate"] == pytest.approx(-6.25)


def test_speech_ifeval_unknown_instruction_names_line(tmp_path):
    (tmp_path / "eval_data").mkdir()
    (tmp_path / "eval_data" / "creative_writing.jsonl").write_text(json.dumps(
        {"audio_filepath": "a.wav", "instruction": "x", "instruction_id_list": ["language:response_language"],
         "kwargs": [{}]}) + "\n")
    with pytest.raises(BenchmarkFormatError, match="creative_writing.jsonl: line 1: instruction id"):
        adapter("speech_ifeval", data=str(tmp_path)).read(str(tmp_path))


def test_voicebench_rule_scored_subsets():
    root = str(FIXTURES / "voicebench")
    voicebench = adapter("voicebench", data=root)
    assert {i.groups["subset"] for i in voicebench.read(root)} == {"openbookqa", "ifeval", "advbench"}
    subsets = voicebench.summarize(voicebench.read_results(root))["subsets"]
    assert subsets["openbookqa"] | {} == {"evaluator": "mcq", "n": 2, "acc": 50.0, "fail": 0.0, "judge": None}
    assert subsets["ifeval"]["prompt_level"] == 100.0 and subsets["ifeval"]["instruction_level"] == 100.0
    assert subsets["advbench"]["refusal_rate"] == 50.0


@pytest.mark.slow
def test_voicebench_open_subset_is_rated_by_the_local_backbone_judge(tmp_path):
    (tmp_path / "commoneval.jsonl").write_text(
        json.dumps({"audio": "a.wav", "prompt": "Tell me a joke.", "response": "Why did the chicken cross the road?"})
        + "\n")
    voicebench = adapter("voicebench")
    voicebench.judge = LocalJudge(str(REPO_ROOT / "models" / "smollm2-135m-instruct"))
    entry = voicebench.summarize(voicebench.read_results(str(tmp_path)))["subsets"]["commoneval"]
    assert entry["judge"].startswith("local backbone") and entry["n"] == 1
    assert entry["unrated"] == 1 or 1.0 <= entry["gpt"] <= 5.0


def test_voicebench_ifeval_kwargs_that_do_not_fit_name_the_line(tmp_path):
    (tmp_path / "ifeval.jsonl").write_text(json.dumps(
        {"audio": "a.wav", "prompt": "p", "instruction_id_list": ["detectable_format:number_bullet_lists"],
         "kwargs": [{"bullets": 3}]}) + "\n")
    with pytest.raises(BenchmarkFormatError, match="ifeval.jsonl: line 1: kwargs do not fit"):
        adapter("voicebench").read(str(tmp_path))
