"""Plain helpers the test modules share, by subject; fixtures live in
tests/conftest.py. Test modules import from here, never from each other."""
