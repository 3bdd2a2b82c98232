"""hone's benchmarks, each comparing hone with LangGraph in one process.

``python -m bench`` lists them; ``python -m bench <name> [--quick]`` runs one. Figures and
the exact commands are in ``docs/benchmarks.md``.
"""
