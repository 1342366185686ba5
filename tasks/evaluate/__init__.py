"""Benchmark evaluation: a registry of suites (declarative YAML + an adapter reading the benchmark's official
file format and scoring with its official rule), reference-faithful inference, the four comparison conditions
and the forgetting check. See tasks/evaluate/registry.py for the suite file schema."""
