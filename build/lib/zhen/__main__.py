"""`python -m zhen`: the zhen command line."""

from .cli import main

main()
