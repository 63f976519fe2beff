"""Reliability tests (a package so that its conftest is `reliability.conftest`: a second
top-level `conftest` module would shadow tests/conftest.py, which test modules import)."""
