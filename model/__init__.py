"""The DeSTA2.5 audio language model as a torch/transformers library (imports no tasks/ or flows/ code).

Exports resolve lazily (PEP 562) so `from model.base_models import ...` (the base-model lookup) does not
pay for importing the modeling code.
"""

from importlib import import_module

_EXPORTS = {
    "DeSTA25Config": "model.modeling_desta25",
    "DeSTA25Model": "model.modeling_desta25",
    "GenerationResult": "model.modeling_desta25",
    "default_tapped_layers": "model.modeling_desta25",
    "AudioClip": "model.processing_desta25",
    "DeSTA25Processor": "model.processing_desta25",
    "DeSTAInputError": "model.processing_desta25",
    "read_audio": "model.processing_desta25",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
