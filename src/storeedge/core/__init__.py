"""The pure domain: no bleak, paho, Flask or sqlite3 here (tests/test_architecture.py)."""
