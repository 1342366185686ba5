"""Transcripts for real recordings that come without one: Whisper tiny.en, run once per file.

Results are cached by the audio's sha256 in `<cache_dir>/transcripts/whisper-tiny.en.json`, so a
rebuild (or a new seed picking the same files) never runs ASR again.
"""

from __future__ import annotations

import json
from pathlib import Path

from tasks.base_models.wheels import sha256_of
from tasks.corpus.audio import decode
from tasks.storage import write_text

ASR_MODEL = "openai/whisper-tiny.en"
ASR_RATE = 16000


def cached_transcripts(files: dict[str, Path], cache_dir: Path) -> dict[str, str]:
    """name -> transcript for each audio file, transcribing only files not in the cache."""
    cache_file = cache_dir / "transcripts" / "whisper-tiny.en.json"
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    digests = {name: sha256_of(path) for name, path in files.items()}
    missing = {name: files[name] for name, digest in digests.items() if digest not in cache}
    if missing:
        cache.update({digests[name]: text for name, text in transcribe(missing).items()})
        write_text(str(cache_file), json.dumps(cache, indent=1, sort_keys=True))
    return {name: cache[digest] for name, digest in digests.items()}


def transcribe(files: dict[str, Path]) -> dict[str, str]:
    """Greedy Whisper tiny.en decoding (deterministic) of each file."""
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from tasks.base_models.prepare import prepare

    model_dir = prepare([ASR_MODEL])[ASR_MODEL]  # the corpus's own tool, whatever the preset's models are
    processor = WhisperProcessor.from_pretrained(model_dir)
    model = WhisperForConditionalGeneration.from_pretrained(model_dir).eval()
    texts = {}
    with torch.inference_mode():
        for name, path in sorted(files.items()):
            audio, _ = decode(path, ASR_RATE)
            features = processor(audio, sampling_rate=ASR_RATE, return_tensors="pt").input_features
            tokens = model.generate(features, do_sample=False, num_beams=1)
            texts[name] = processor.batch_decode(tokens, skip_special_tokens=True)[0].strip()
    return texts
