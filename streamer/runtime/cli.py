"""`streamer worker`, `streamer topics`, `streamer demo`."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def run_worker(settings, *, loglevel: str = "INFO") -> int:
    """Create topics, build the stages, run the Faust worker until SIGTERM/SIGINT."""
    from streamer import logsafe

    logsafe.install(settings)  # first: no log record may carry a secret or a patient identifier
    import faust

    from streamer.runtime.app import build_stages, create_app
    from streamer.runtime.topics import ensure_topics

    created = ensure_topics(settings)
    if created:
        log.info("created topics %s", created)
    ctx: dict = {}
    build_stages(settings, ctx)
    app = create_app(settings, engine=ctx.get("engine"), store=ctx.get("store"))
    worker = faust.Worker(app, loglevel=loglevel, redirect_stdouts=False, override_logging=False)
    worker.execute_from_commandline()
    return 0


def _worker(args: argparse.Namespace) -> int:
    from streamer.settings import get_settings

    logging.getLogger().setLevel(args.loglevel)
    settings = get_settings()
    apply_log_levels(settings.log_levels)
    return run_worker(settings, loglevel=args.loglevel)


def apply_log_levels(spec: str) -> dict[str, str]:
    """Set the levels of single loggers from STREAMER_LOG_LEVELS (validated by Settings)."""
    from streamer.settings import parse_log_levels

    levels = parse_log_levels(spec)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    return levels


def _topics(args: argparse.Namespace) -> int:
    from streamer.runtime.topics import TOPICS, ensure_topics, partitions_of
    from streamer.settings import get_settings

    settings = get_settings()
    if args.action == "create":
        created = ensure_topics(settings)
        print("created: " + (", ".join(created) if created else "nothing (all exist)"))
    for spec in TOPICS:
        print(f"{settings.topic(spec.name):<28} partitions={partitions_of(spec, settings):<3} "
              f"{'compacted ' if spec.compacted else ''}{spec.doc}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from streamer.runtime.demo import run_demo

    return run_demo(duration=args.duration, speed=args.speed, users=args.users, seed=args.seed,
                    workdir=args.workdir, history_days=args.history_days)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run the Faust worker (broker, ClickHouse, ... from settings)")
    from streamer.settings import LOG_LEVELS

    p.add_argument("--loglevel", default="INFO", choices=list(LOG_LEVELS))
    p.set_defaults(func=_worker)

    p = sub.add_parser("topics", help="list or create the Kafka topics the service uses")
    p.add_argument("action", choices=["list", "create"], nargs="?", default="list")
    p.set_defaults(func=_topics)

    p = sub.add_parser("demo", help="whole pipeline on the embedded default with synthetic traffic")
    p.add_argument("--duration", type=float, default=90.0, help="seconds of traffic (Ctrl-C stops earlier)")
    p.add_argument("--speed", type=float, default=120.0, help="simulated seconds per wall second")
    p.add_argument("--users", type=int, default=60, help="users in the synthetic hospital")
    p.add_argument("--history-days", type=int, default=8,
                   help="days of earlier traffic sent first, so baselines and shift profiles exist")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", default="", help="folder for the embedded ClickHouse and logs (default var/demo)")
    p.set_defaults(func=_demo)
