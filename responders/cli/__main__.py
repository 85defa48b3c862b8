"""``python -m responders.cli``: the ``harken`` command without the console script."""

from responders.cli import main

main()
