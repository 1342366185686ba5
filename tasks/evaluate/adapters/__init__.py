"""One adapter per benchmark; importing the package registers them all (tasks.evaluate.adapters.base.ADAPTERS)."""

from tasks.evaluate.adapters import dynamic_superb, embedded, mmau, sakura, speech_ifeval, voicebench  # noqa: F401
