"""The language server: a thin protocol layer over the pure core.

Nothing in here parses a log; it maps the model, the analysis and the
feature results of ``kdlens.features`` to LSP messages.
"""
