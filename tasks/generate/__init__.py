"""Self-generated training targets: seed descriptions, the instruction pool, generation backends.

Entry points: tasks.generate.stage.generate_rows / self_consistency (the DVC stage via flows.generate),
tasks.generate.rows (read/write rows, DeSTA-AQA5M compatible), tasks.generate.prompts.load_prompt_pool.
"""
