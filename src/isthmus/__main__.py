"""``python -m isthmus``: the same as the ``isthmus`` command."""

from isthmus.cli.app import main

main()
