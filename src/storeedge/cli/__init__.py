"""The `storeedge` command line (CONTRACTS section 6).

Only commands that work are listed. Output for people goes to stdout; logs go to
stderr. A configuration error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from storeedge import __version__
from storeedge.config import load_or_exit

Handler = Callable[[argparse.Namespace], int]


def _setup_logging(verbose: bool) -> None:
    from storeedge.ops.logs import setup_logging

    setup_logging(verbose)


def _cmd_run(args: argparse.Namespace) -> int:
    settings = load_or_exit(args.config)
    from storeedge.app import run_service

    return run_service(settings, simulate=args.simulate)


def _cmd_demo(args: argparse.Namespace) -> int:
    from storeedge.demo import run_demo

    return run_demo(web_port=args.port, data_dir=args.data_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storeedge",
        description="In-store edge service: recognition, kiosk, staff alerts, MQTT sync.",
    )
    parser.add_argument("--version", action="version", version=f"storeedge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="the whole system on this machine with simulated devices",
        description="Starts a private mosquitto, a simulated central platform, simulated "
        "BLE devices and the edge; prints the kiosk and staff URLs. Ctrl-C stops all.",
    )
    demo.add_argument("--port", type=int, default=8080, help="web port (0 picks a free one)")
    demo.add_argument(
        "--data-dir", type=Path, default=None, help="keep the edge's data here (default: temp)"
    )
    demo.set_defaults(handler=_cmd_demo)

    run = sub.add_parser(
        "run",
        help="the service",
        description="Runs the edge service with the given configuration.",
    )
    run.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    run.add_argument(
        "--simulate",
        metavar="SCENARIO",
        default=None,
        help="replace BLE and QR hardware with simulated devices (scenarios: walk, rush)",
    )
    run.set_defaults(handler=_cmd_run)

    from storeedge import doctor
    from storeedge.cli import recordings

    doctor.register(sub)
    recordings.register(sub)
    from storeedge.web import enrol, tls

    enrol.register(sub)
    tls.register(sub)
    from storeedge.ops import commands as ops_commands

    ops_commands.register(sub)
    from storeedge import calibrate

    calibrate.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
