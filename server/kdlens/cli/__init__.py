"""The ``kdlens`` command line: ``check`` for terminals and CI, ``serve`` for editors."""
