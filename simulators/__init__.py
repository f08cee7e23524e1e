"""Simulators play the outside world: phones and tags in a store, scanners, central."""
