"""``python -m seg_perception <verb>``."""

from .cli import main

raise SystemExit(main())
