"""The real smol models (SmolLM2-135M-Instruct + Whisper tiny.en): VAD then ASR on a real recording, and the
forgetting assertion on the real backbone."""

import shutil

import pytest

from model import DeSTA25Config, DeSTA25Model
from tasks import system_files
from tasks.evaluate.forgetting import check_forgetting
from tasks.evaluate.inference import Answerer, load_waveform
from tasks.evaluate.registry import load_suite
from tasks.evaluate.vad import NO_SPEECH_TRANSCRIPT

pytestmark = pytest.mark.slow
RECORDING = system_files.ALSA_SOUNDS.path / "Front_Center.wav"  # a voice saying "Front center"
SMOL = {"llm": "HuggingFaceTB/SmolLM2-135M-Instruct", "encoder": "openai/whisper-tiny.en", "qformer_layers": 2,
        "num_queries": 16}


@pytest.fixture(scope="module")
def smol_model():
    return DeSTA25Model.from_config(DeSTA25Config(**SMOL))


def test_speech_is_transcribed_and_a_tone_is_not(smol_model, embedded_corpus):
    if not RECORDING.is_file():
        pytest.skip("alsa-utils' recordings are not installed (infra/system-packages.sh installs them)")
    shutil.copy(RECORDING, embedded_corpus.parent / "audio" / "s1.wav")
    suite = load_suite("embedded", data=str(embedded_corpus))
    items = [i for i in suite.adapter_instance.read(str(embedded_corpus)) if i.id in ("s1/transcription", "n1/category")]
    answers = Answerer(smol_model, batch_size=2).answer(items, suite.audio_base, {"max_new_tokens": 12, "do_sample": False})
    by_id = {a.item.id: a for a in answers}
    assert "front" in by_id["s1/transcription"].transcript.lower()
    assert by_id["n1/category"].transcript == NO_SPEECH_TRANSCRIPT
    assert all(isinstance(a.output, str) for a in answers)
    assert len(load_waveform(str(embedded_corpus.parent / "audio" / "s1.wav"))) > 0


def test_forgetting_on_the_real_backbone(smol_model):
    result = check_forgetting(smol_model, max_new_tokens=24)
    assert result.identical is True and result.passed
    assert result.if_rate_lalm == result.if_rate_backbone
