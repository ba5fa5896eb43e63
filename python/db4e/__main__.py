"""`python -m db4e` runs the command line."""

from db4e.cli import main

main()
