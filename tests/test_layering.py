"""The layering rules, read from the source (every import statement, at any depth): model/ is the
torch/transformers library and imports nothing of tasks/ or flows/; tasks/ never imports flows/; the
corpus gate and the gate machinery do not import the generate package (the target gate may: it checks rows
against the instruction pool and the attribute wording that generation owns)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The model library's kin: torch and transformers, the libraries they are used with for weights (safetensors),
# adapters (peft), arrays (numpy), and decoding/resampling audio in the processor (soundfile, scipy).
MODEL_MAY_IMPORT = {"model", "torch", "transformers", "safetensors", "peft", "numpy", "soundfile", "scipy"}


def imported_modules(path: Path, root: Path) -> set[str]:
    """Dotted names of every module an import statement in `path` names (relative imports resolved)."""
    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = package[: len(package) - node.level + 1] if node.level else []
            names.add(".".join([*parent, *([node.module] if node.module else [])]))
    return names


def violations(folder: str, allowed, root: Path = REPO_ROOT) -> list[str]:
    return [f"{path.relative_to(root)}: {name}" for path in sorted((root / folder).rglob("*.py"))
            for name in sorted(imported_modules(path, root)) if not allowed(name)]


def model_may_import(name: str) -> bool:
    top = name.split(".")[0]
    return top in MODEL_MAY_IMPORT or top in sys.stdlib_module_names


def not_flows(name: str) -> bool:
    return name.split(".")[0] != "flows"


def not_generate(name: str) -> bool:
    return not (name == "tasks.generate" or name.startswith("tasks.generate."))


def test_model_imports_only_torch_transformers_and_their_kin():
    assert violations("model", model_may_import) == []


def test_tasks_never_import_flows():
    assert violations("tasks", not_flows) == []


def test_the_gates_do_not_import_the_generate_package():
    # The gates take what generation owns (the prompt pool, the grounding metric) from their flows.
    assert violations("tasks/validate", not_generate) == []


def test_the_rules_catch_forbidden_imports_at_any_depth(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "lib.py").write_text("import torch\nimport yaml\ndef f():\n    from tasks.params import Params\n")
    (tmp_path / "tasks" / "validate").mkdir(parents=True)
    (tmp_path / "tasks" / "validate" / "gate.py").write_text("from ..generate.rows import read_rows\nimport flows\n")
    assert violations("model", model_may_import, tmp_path) == ["model/lib.py: tasks.params", "model/lib.py: yaml"]
    assert violations("tasks", not_flows, tmp_path) == ["tasks/validate/gate.py: flows"]
    assert violations("tasks/validate", not_generate, tmp_path) == ["tasks/validate/gate.py: tasks.generate.rows"]
