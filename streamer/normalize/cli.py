"""`streamer parse`: audit files -> canonical events as JSON lines (contracts.md section 4)."""

from __future__ import annotations

import argparse
import sys

import orjson

from streamer.normalize import FORMATS, normalize_bytes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="parse audit records into canonical events (JSON lines on stdout)",
                       description="Parse DICOM/ATNA audit XML, syslog, FHIR AuditEvent or canonical JSON "
                                   "files. Events go to stdout as JSON lines, rejects to stderr as "
                                   "'FILE: POSITION: REASON'. Exit 0: all parsed; 2: some input rejected; "
                                   "1: usage error or unreadable file.")
    p.add_argument("--format", choices=FORMATS, default="auto", help="input format (default: detect per file)")
    p.add_argument("--source", default=None, help="source name for events that do not carry one")
    p.add_argument("files", nargs="+", metavar="FILE", help="input file, '-' for standard input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    rejected = unreadable = False
    for name in args.files:
        try:
            if name == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(name, "rb") as fh:
                    data = fh.read()
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            unreadable = True
            continue
        result = normalize_bytes(data, args.format, args.source)
        for event in result.events:
            out.write(orjson.dumps(event) + b"\n")
        out.flush()
        for r in result.rejects:
            print(f"{name}: {r.position}: {r.reason} [{r.format}]", file=sys.stderr)
        rejected = rejected or bool(result.rejects)
    return 1 if unreadable else 2 if rejected else 0


def main(argv: list[str] | None = None) -> int:
    """`python -m streamer.normalize.cli parse ...`: the same command without the other stages."""
    from streamer.cli import _Parser

    parser = _Parser(prog="streamer")
    register(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
