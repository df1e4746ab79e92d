"""``python -m kdlens``: the same as the ``kdlens`` command."""

from kdlens.cli.main import main

raise SystemExit(main())
