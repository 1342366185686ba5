"""params.yaml and every shipped preset load into valid config; bad values fail with key and reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.params import REPO_ROOT, ParamsError, available_presets, load_params


def write_params(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    mutate(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_params_load():
    params = load_params()
    assert params.preset == "smol"
    assert params.model.llm == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert params.generator_llm == params.model.llm


@pytest.mark.parametrize("preset", available_presets())
def test_every_preset_loads(tmp_path, preset):
    params = load_params(write_params(tmp_path, lambda d: d.update(preset=preset)))
    assert params.preset == preset
    assert params.model.num_queries > 0


def test_presets_shipped():
    assert {"smol", "desta25"} <= set(available_presets())


def test_desta25_preset_is_the_paper_recipe(tmp_path):
    model = load_params(write_params(tmp_path, lambda d: d.update(preset="desta25"))).model
    assert (model.llm, model.encoder) == ("meta-llama/Llama-3.1-8B-Instruct", "openai/whisper-large-v3")
    assert (model.qformer_layers, model.num_queries, model.tapped_layers) == (6, 64, [7, 15, 23, 31])
    assert model.dtype == "bfloat16"


def test_desta25_preset_carries_the_reference_training_recipe(tmp_path):
    params = load_params(write_params(tmp_path, lambda d: d.update(preset="desta25")))
    train, model = params.train, params.model
    assert (train.lr, train.betas, train.weight_decay) == (1e-4, (0.9, 0.98), 0.01)
    assert (train.lr_scheduler, train.warmup_steps, train.max_grad_norm) == ("cosine", 5000, 1.0)
    assert (train.batch_size, train.epochs, train.precision, train.seed) == (12, 5, "bf16", 42)
    assert (train.max_train_tokens, train.max_valid_tokens, model.max_transcript_tokens) == (300, 512, 100)
    assert (model.audio_start_marker, model.audio_end_marker) == ("<start_audio>", "<end_audio>")
    assert (model.encoder_dtype, model.qformer_dropout, model.mask_padding_frames) == ("float32", 0.1, False)


def test_fsdp_needs_lora_and_many_nodes_need_a_rendezvous(tmp_path):
    with pytest.raises(ParamsError, match="fsdp shards trainable weights.*model.lora.enabled"):
        load_params(write_params(tmp_path, lambda d: d["train"].update(distributed="fsdp")))
    lora = load_params(write_params(tmp_path, lambda d: (d["train"].update(distributed="fsdp"),
                                                         d.update(model={"lora": {"enabled": True}}))))
    assert lora.train.distributed == "fsdp"
    with pytest.raises(ParamsError, match="train: Value error, nodes > 1 needs rdzv_endpoint"):
        load_params(write_params(tmp_path, lambda d: d["train"].update(nodes=2)))


def test_params_override_preset(tmp_path):
    params = load_params(write_params(tmp_path, lambda d: d.update(model={"num_queries": 8})))
    assert params.model.num_queries == 8
    assert params.model.llm == "HuggingFaceTB/SmolLM2-135M-Instruct"  # the rest still from the preset


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        (lambda d: d["corpus"].update(seed="abc"), "corpus.seed", "integer"),
        (lambda d: d["corpus"]["splits"].update(train=0.9), "corpus.splits", "must be 1.0"),
        (lambda d: d["generate"].update(concurrency=0), "generate.concurrency", "greater than 0"),
        (lambda d: d["generate"].update(endpoints=["localhost:8000"]), "generate.endpoints", "http"),
        (lambda d: d["generate"].update(tempurature=0.1), "generate.tempurature", "Extra inputs"),
        (lambda d: d.update(model={"tapped_layers": [3, 1]}), "model.tapped_layers", "increasing"),
        (lambda d: d["validate_corpus"].update(min_duration_s=40.0), "validate_corpus", "below"),
        (lambda d: d["generate"].update(temperature=0.0, max_attempts=3), "generate", "needs temperature > 0"),
        # Strict types: YAML's `true` is no number and "8" no integer.
        (lambda d: d["generate"].update(concurrency=True), "generate.concurrency", "valid integer"),
        (lambda d: d["generate"].update(temperature=True), "generate.temperature", "valid number"),
        (lambda d: d["generate"].update(shard_rows="64"), "generate.shard_rows", "valid integer"),
        (lambda d: d["corpus"]["real_speech"].update(alsa_clips=1), "corpus.real_speech.alsa_clips", "valid boolean"),
        (lambda d: d["validate_corpus"]["split_bounds"].update(train=[True, 0.9]), "validate_corpus.split_bounds.train",
         "valid number"),
        # Contradictions across sections name the key to change.
        (lambda d: d["corpus"].update(sample_rate=22050), "validate_corpus.sample_rate", "corpus.sample_rate=22050"),
        (lambda d: d["corpus"].update(max_duration_s=60.0), "corpus.max_duration_s",
         "validate_corpus.max_duration_s=30.5"),
        (lambda d: d["corpus"].update(max_duration_s=0.1), "corpus.max_duration_s", "validate_corpus.min_duration_s=0.2"),
        (lambda d: d["evaluate"].update(conditions=["trained", "mismatched"]), "register.baselines",
         "['text_only'] must be beaten"),
        (lambda d: d["register"].update(baselines=["trained"]), "register.baselines.0", "'chance'"),
    ],
)
def test_bad_value_names_key_and_reason(tmp_path, mutate, key, reason):
    with pytest.raises(ParamsError) as error:
        load_params(write_params(tmp_path, mutate))
    assert key in str(error.value) and reason in str(error.value)


def test_foreign_generator_refused_unless_overridden(tmp_path):
    def foreign(d, allow):
        d["generate"].update(generator="Qwen/Qwen2.5-Coder-0.5B-Instruct", allow_foreign_generator=allow)

    with pytest.raises(ParamsError, match="self-generation"):
        load_params(write_params(tmp_path, lambda d: foreign(d, False)))
    params = load_params(write_params(tmp_path, lambda d: foreign(d, True)))
    assert params.generator_llm == "Qwen/Qwen2.5-Coder-0.5B-Instruct"


def test_unknown_preset_lists_choices(tmp_path):
    with pytest.raises(ParamsError, match="unknown preset 'huge'.*smol"):
        load_params(write_params(tmp_path, lambda d: d.update(preset="huge")))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("corpus: [unclosed")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)


def test_a_duplicate_key_names_the_key_and_both_lines(tmp_path):
    text = (REPO_ROOT / "params.yaml").read_text()
    line = next(line for line in text.splitlines() if line.startswith("  concurrency: "))
    path = tmp_path / "params.yaml"
    path.write_text(text.replace(f"{line}\n", f"{line}\n  concurrency: 2\n"))
    first = text.splitlines().index(line) + 1
    with pytest.raises(ParamsError, match=f"duplicate key 'concurrency' \\(line {first + 1}; first given on line {first}\\)"):
        load_params(path)


def test_the_same_key_in_different_sections_is_no_duplicate(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text((REPO_ROOT / "params.yaml").read_text())
    assert load_params(path).generate.seed == load_params(path).corpus.seed  # both sections have `seed`


def key_lines(text: str) -> list[int]:
    """Lines that hold one whole `key: value` entry (not a line of a flow collection spread over lines)."""
    found, depth = [], 0
    for number, line in enumerate(text.splitlines()):
        code = re.sub(r'"[^"]*"|\'[^\']*\'', "", line).split(" #")[0]  # brackets inside strings don't count
        opened = code.count("[") + code.count("{") - code.count("]") - code.count("}")
        if depth == 0 and opened == 0 and re.match(r"^\s*[A-Za-z_]+:", line):
            found.append(number)
        depth += opened
    return found


KEY_LINES = key_lines((REPO_ROOT / "params.yaml").read_text())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.sampled_from(KEY_LINES))
def test_any_key_given_twice_is_refused(tmp_path, number):
    lines = (REPO_ROOT / "params.yaml").read_text().splitlines()
    key = lines[number].split(":")[0].strip()
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines[: number + 1] + [lines[number]] + lines[number + 1:]) + "\n")
    with pytest.raises(ParamsError, match=f"duplicate key '{key}' \\(line {number + 2}; first given on line {number + 1}\\)"):
        load_params(path)
