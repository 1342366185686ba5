"""The train stage on tiny random base models: what learns, what stays frozen, bad rows, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import load_file

from tasks.params import load_params
from tasks.train.data import AudioSource, BadRowError
from tasks.train.stage import audio_spread, build_model, evaluate_conditions, run_training
from tests.tasks.train.conftest import make_rows, write_project


def frozen_state(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if not p.requires_grad}


def test_only_the_connector_learns_and_frozen_weights_stay_bit_identical(project, monkeypatch):
    params = load_params(project)
    models = []
    real_build = build_model

    def keep(params, device=None):
        models.append(real_build(params, device))
        return models[-1]

    monkeypatch.setattr("tasks.train.stage.build_model", keep)
    initial_connector = {k: v.clone() for k, v in real_build(params).connector.state_dict().items()}
    before = frozen_state(real_build(params))
    run_training(params, report_to_mlflow=False)
    after = frozen_state(models[0])
    assert before.keys() == after.keys() and len(before) > 0
    assert all(torch.equal(before[name], after[name]) for name in before)
    trained = load_file(str(Path(params.train.out, "model.safetensors")))
    assert set(trained) == {f"connector.{k}" for k in initial_connector}
    assert any(not torch.equal(trained[f"connector.{k}"], v) for k, v in initial_connector.items())


def test_loss_falls_on_a_tiny_overfit_set(tmp_path, base_dirs):
    params = load_params(write_project(tmp_path, base_dirs, max_steps=40, lr=3e-2, logging_steps=4, save_steps=40))
    run_training(params, report_to_mlflow=False)
    rows = Path(params.train.plots, "train_loss.csv").read_text().splitlines()[1:]
    losses = [float(line.split(",")[1]) for line in rows]
    assert losses[-1] < losses[0] - 0.5, losses


def test_outputs_model_bad_rows_run_info_and_curves(project):
    params = load_params(project)
    result = run_training(params, report_to_mlflow=False)
    assert result["train_rows"] == 6 and result["valid_rows"] == 6 and result["steps"] == 6
    assert result["samples_per_s"] > 0 and result["tokens_per_s"] > result["samples_per_s"]
    config = json.loads(Path(params.train.out, "config.json").read_text())
    assert config["llm"] == params.model.llm and config["llm_revision"].startswith("local:")
    assert Path(params.train.bad_rows).read_text() == ""
    header = Path(params.train.plots, "train_loss.csv").read_text().splitlines()[0]
    assert header == "step,train_loss"
    # A finished run leaves no checkpoints: a rerun starts from scratch, not from the end.
    assert not any(Path(params.train.checkpoint_dir).glob("*/checkpoint-*"))


def test_valid_loss_has_four_conditions_by_kind(project):
    params = load_params(project)
    run_training(params, report_to_mlflow=False)
    losses, spread = evaluate_conditions(params, params.train.out)
    assert list(losses) == ["untrained", "text_only", "mismatched", "trained"]
    for by_kind in losses.values():
        assert set(by_kind) == {"all", "speech", "sound", "music"} and all(v > 0 for v in by_kind.values())
    # The untrained condition is the connector the run started from, not just any fresh one.
    assert losses["untrained"] != losses["trained"]
    assert set(spread) == {"untrained", "trained"} and all(0 < value < 1.5 for value in spread.values())


def test_audio_spread_is_zero_for_a_connector_that_ignores_the_clip(project, tmp_path):
    tiny_model = build_model(load_params(project))
    clips = []
    for index, frequency in enumerate((220, 440, 880)):
        t = np.arange(16000) / 16000
        path = tmp_path / f"tone{index}.wav"
        soundfile.write(path, (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), 16000)
        clips.append(str(path))
    audio = AudioSource(tiny_model, cached=True)
    listening = audio_spread(tiny_model, audio, clips)
    with torch.no_grad():
        tiny_model.connector.proj.weight.zero_()  # every clip now gives the projection's bias alone
    assert listening > 1e-4 and audio_spread(tiny_model, audio, clips) < 1e-7


def bad_rows_project(tmp_path, base_dirs, on_bad_row):
    rows = make_rows(tmp_path / "corpus")
    rows[4]["messages"][1]["audios"][0]["audio"] = "audio/missing.wav"
    (tmp_path / "corpus" / "audio" / "broken.wav").write_bytes(b"not audio")
    rows[5]["messages"][1]["audios"][0]["audio"] = "audio/broken.wav"
    rows[6]["response"] = "  "
    rows[7]["messages"][1]["content"] = "<|AUDIO|>\n" + "Describe the sound in detail. " * 40
    # No extension and a different one: both fall back to the .wav beside them (DeSTA-AQA5M manifests).
    rows[8]["messages"][1]["audios"][0]["audio"] = rows[8]["messages"][1]["audios"][0]["audio"][: -len(".wav")]
    rows[9]["messages"][1]["audios"][0]["audio"] = rows[9]["messages"][1]["audios"][0]["audio"].replace(".wav", ".flac")
    return load_params(write_project(tmp_path, base_dirs, rows=rows, on_bad_row=on_bad_row, max_train_tokens=120,
                                     max_valid_tokens=120))


def test_bad_rows_skipped_are_counted_and_listed_beside_the_model(tmp_path, base_dirs):
    params = bad_rows_project(tmp_path, base_dirs, "skip")
    result = run_training(params, report_to_mlflow=False)
    listed = {row["id"]: row["reason"] for row in map(json.loads, Path(params.train.bad_rows).read_text().splitlines())}
    assert listed == {"sound-0": "audio", "sound-1": "audio", "sound-2": "empty_response", "sound-3": "over_cap"}
    assert result["bad_rows"] == 4 and result["train_rows"] + result["valid_rows"] == 8


def test_missing_audio_under_fail_names_the_audio_file(tmp_path, base_dirs):
    rows = make_rows(tmp_path / "corpus")
    rows[-1]["messages"][1]["audios"][0]["audio"] = "audio/missing.wav"
    params = load_params(write_project(tmp_path, base_dirs, rows=rows, on_bad_row="fail"))
    with pytest.raises(BadRowError, match=r"row 'music-3': .*corpus/audio/missing.wav.*Fix: restore the audio"):
        run_training(params, report_to_mlflow=False)


def test_bad_row_fail_stops_before_training_naming_row_file_and_fix(tmp_path, base_dirs):
    params = bad_rows_project(tmp_path, base_dirs, "fail")
    with pytest.raises(BadRowError) as error:
        run_training(params, report_to_mlflow=False)
    message = str(error.value)
    # The first bad training row, the rows file, what is wrong and how to fix it.
    assert "row 'sound-2': the response is empty" in message and params.train.rows in message
    assert "Fix: regenerate the row" in message and "4 bad row(s)" in message
    assert not Path(params.train.out).exists()
