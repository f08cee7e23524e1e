"""Simulators play the outside world for ``storeedge demo`` and ``run --simulate``:
phones and tags walking a store (with its radio), the demo's scripted member, and the
central platform. Shipped in the wheel because the demo runs on a box with no hardware.

What only development needs (scoring against ground truth, random store families,
the calibration walk, the link-fault proxy, the recording generator) lives in the
top-level ``simlab`` package, which the wheel does not ship.
"""
