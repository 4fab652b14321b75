"""Allow ``python -m headsculpt``."""

from headsculpt.cli import main

raise SystemExit(main())
