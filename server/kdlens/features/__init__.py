"""Editor features computed from the core (no protocol types): one module per feature.

The language server maps these results to LSP messages; other front ends
(the CLI, tests) can use them directly.
"""
