"""`python -m zhen`: the zhen command line."""

from zhen.cli import main

main()
