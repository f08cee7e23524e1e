"""The simulation lab: what only development and the benchmarks need.

Random store families (``family``), the technician's calibration walk
(``calibration_walk``), scoring against ground truth (``scoring``), the link-fault
proxy of the chaos tests (``linkproxy``) and the recording generator
(``store_walk``). Not shipped in the wheel; the simulators the demo needs are
``storeedge.simulators``.
"""
