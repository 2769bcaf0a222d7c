"""``python -m scratchgrad``: the same as the ``scratchgrad`` command."""

from scratchgrad.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
