"""`streamer` command line. Each stage module registers its own sub-commands.

A module listed in COMMAND_MODULES exposes `register(subparsers)`, which adds its commands with
`subparsers.add_parser(...)` and sets `func=<callable(args) -> int>` as the parser default.
Exit codes: 0 success, 1 usage or configuration error, 2 some input rejected (see contracts).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = (
    "streamer.settings",          # check-config
    "streamer.normalize.cli",     # parse
    "streamer.score.cli",         # replay
    "streamer.simulate.cli",      # simulate, evaluate
    "streamer.store.cli",         # db migrate, erase, retention
    "streamer.alert.cli",         # alerts list|ack|resolve
    "streamer.dashboards",        # dashboards check|push|render, report access-review
    "streamer.runtime.cli",       # worker, demo
    "models.cli",                 # models train|list|promote|rollback
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 1, as the CLI contract says
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamer", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # stage not installed in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from streamer.settings import get_settings

    get_settings.cache_clear()  # settings are read from the environment of this invocation
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 1
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
