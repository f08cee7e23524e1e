"""Adapters: the only place vendor libraries (bleak, paho, sqlite3, evdev, serial) live."""
