"""Operations: the systemd notify protocol, /metrics, journald logging, install and upgrade.

Each module is self-contained and takes plain callables or snapshots, so the
composition root wires it in a line or two.
"""
