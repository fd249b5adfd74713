"""Command line entry point of the prediction service (``grade-predictor-service``).

Logging is configured first, then uvicorn runs with ``log_config=None`` so that it
does not install its own handlers and formatters over ours: its loggers propagate
to the root handler set up by :func:`apps.service.logging_setup.configure_logging`,
and its startup, shutdown and error messages come out as JSON like every other
line. uvicorn's access log is off (``access_log=False``): the service's middleware
writes one richer completion line per request instead.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence

import structlog
import uvicorn

from apps.provenance import code_version
from apps.service.app import create_app
from apps.service.logging_setup import configure_logging

__all__ = ["build_parser", "main"]

_FORMATS = {"auto": None, "json": True, "console": False}


def build_parser() -> argparse.ArgumentParser:
    """The service's command line options."""
    parser = argparse.ArgumentParser(
        prog="grade-predictor-service", description="Serve grade predictions over HTTP."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="lowest level written to stdout (default: %(default)s)",
    )
    parser.add_argument(
        "--log-format",
        default="auto",
        choices=sorted(_FORMATS),
        help="json, console, or auto: JSON unless stdout is a terminal (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Configure logging, build the app and serve it until interrupted; return the exit code."""
    args = build_parser().parse_args(argv)
    configure_logging(json=_FORMATS[args.log_format], level=args.log_level)
    structlog.stdlib.get_logger(__name__).info(
        "service_starting",
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        code_version=code_version(),
        python=platform.python_version(),
    )
    app = create_app()
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
