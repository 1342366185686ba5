"""Self-generated training targets: seed descriptions, the instruction pool, generation backends.

Entry points: tasks.generate.stage.generate_rows / self_consistency (the DVC stage via flows.generate),
tasks.generate.prompts.load_prompt_pool. The rows it writes follow tasks/rows.py.
"""
