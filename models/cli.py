"""`streamer models ...`: train, evaluate, calibrate, list, show, promote, shadow, rollback.

Artifacts live in the registry folder (STREAMER_MODEL_REGISTRY); training data comes from the
configured ClickHouse store. Exit 0 on success, 1 on usage, data or configuration errors.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from models.train import DEFAULT_NAME


def register(sub) -> None:
    p = sub.add_parser("models", help="train, evaluate, promote and roll back batch models")
    msub = p.add_subparsers(dest="models_command", required=True)

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        q = msub.add_parser(name, help=help_)
        q.add_argument("--name", default=DEFAULT_NAME, help=f"model name (default {DEFAULT_NAME})")
        q.add_argument("--registry", help="registry folder (default: settings model_registry)")
        q.set_defaults(func=lambda args: _run(func, args))
        return q

    q = add("train", _train, "train a new version on stored events and analysts' labels")
    q.add_argument("--from", dest="start", required=True, help="training window start (UTC time)")
    q.add_argument("--to", dest="end", required=True, help="training window end, exclusive")
    q.add_argument("--eval-from", dest="eval_start", help="evaluation window start")
    q.add_argument("--eval-to", dest="eval_end", help="evaluation window end, exclusive")
    q.add_argument("--budget", type=float, help="calibrate the threshold to this many alerts per "
                                                "1,000 user-days (default: threshold 0.9)")
    q.add_argument("--method", choices=("logistic", "gbm"), default="logistic",
                   help="supervised model under the calibration (default logistic)")
    q.add_argument("--trees", type=int, default=100, help="trees per isolation forest (default 100)")
    q.add_argument("--min-rows", type=int, default=300,
                   help="rows a peer group needs for its own forest (default 300)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--quiet", action="store_true", help="no progress bars")

    q = add("evaluate", _evaluate, "evaluate a version against the promoted one on a stored window")
    q.add_argument("version")
    q.add_argument("--from", dest="start", required=True)
    q.add_argument("--to", dest="end", required=True)
    q.add_argument("--quiet", action="store_true", help="no progress bars")

    q = add("calibrate", _calibrate, "set a version's threshold to meet an alert budget")
    q.add_argument("--budget", type=float, required=True, help="alerts per 1,000 user-days")
    q.add_argument("--version", help="version (default: the promoted one)")
    q.add_argument("--from", dest="start", help="window start (default: the training window)")
    q.add_argument("--to", dest="end", help="window end, exclusive")
    q.add_argument("--quiet", action="store_true", help="no progress bars")

    add("list", _list, "list versions (* promoted, s shadow)")
    q = add("show", _show, "print a version's metadata (default: the promoted one)")
    q.add_argument("version", nargs="?")
    q = add("promote", _promote, "make a version the one the engine scores with")
    q.add_argument("version")
    add("rollback", _rollback, "return to the previously promoted version")
    q = add("shadow", _shadow, "score a version in shadow mode beside the promoted one (no alerts)")
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("version", nargs="?")
    g.add_argument("--off", action="store_true", help="stop shadow scoring")


def _run(func, args: argparse.Namespace) -> int:
    from models.registry import FeatureMismatchError
    from streamer.store.base import StoreError

    try:
        return func(args) or 0
    except (FileNotFoundError, FeatureMismatchError, ValueError, StoreError) as exc:
        print(f"streamer models {args.models_command}: {exc}", file=sys.stderr)
        return 1


def _registry(args) -> str:
    if args.registry:
        return args.registry
    from streamer.settings import get_settings
    return get_settings().model_registry


def _store():
    from streamer.settings import get_settings
    from streamer.store import open_store
    return open_store(get_settings())


def _window(start: str, end: str) -> tuple[int, int]:
    from streamer.timeutil import parse_time
    a, b = parse_time(start), parse_time(end)
    if b <= a:
        raise ValueError(f"empty window: {start} .. {end}")
    return a, b


def _train(args) -> int:
    from models.train import train_model

    start, end = _window(args.start, args.end)
    ev = _window(args.eval_start, args.eval_end) if args.eval_start and args.eval_end else (None, None)
    if bool(args.eval_start) != bool(args.eval_end):
        raise ValueError("--eval-from and --eval-to go together")
    store = _store()
    try:
        res = train_model(store, start, end, eval_start=ev[0], eval_end=ev[1], name=args.name,
                          registry_dir=_registry(args), budget=args.budget, method=args.method,
                          n_estimators=args.trees, min_rows=args.min_rows, seed=args.seed,
                          progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    finally:
        store.close()
    meta = res["meta"]
    print(f"{args.name} {res['version']}: threshold {meta['threshold']}, "
          f"{'supervised' if meta['supervised'] else 'forest only'} (not promoted: "
          f"streamer models promote {res['version']})")
    if res["report"] is not None:
        _print_report(res["report"])
        print(f"report: {_registry(args)}/{args.name}/{res['version']}/report/index.html")
    return 0


def _print_report(report: dict) -> None:
    for name, s in report["systems"].items():
        o, e = s["overall"], s["event_metrics"]
        print(f"  {name:<10} {s['model_version']:<20} alerts {o['alerts']:>4}  true {o['true']:>4}  "
              f"false {o['false']:>4}  recall {o['recall']}  false/1000 user-days "
              f"{o['false_per_1000_user_days']}  AUC {e['roc_auc']}  AP {e['average_precision']}")


def _evaluate(args) -> int:
    from models.train import evaluate_version

    start, end = _window(args.start, args.end)
    store = _store()
    try:
        report = evaluate_version(store, args.name, args.version, start, end,
                                  registry_dir=_registry(args), progress=not args.quiet)
    finally:
        store.close()
    _print_report(report)
    print(f"report: {_registry(args)}/{args.name}/{args.version}/report/index.html")
    return 0


def _calibrate(args) -> int:
    from models.train import calibrate

    start, end = _window(args.start, args.end) if args.start and args.end else (None, None)
    store = _store()
    try:
        res = calibrate(store, args.name, args.version, budget=args.budget, start=start, end=end,
                        registry_dir=_registry(args), progress=not args.quiet)
    finally:
        store.close()
    line = (f"threshold {res['threshold']}: {res['alerts']} alerts over {res['user_days']} user-days "
            f"= {res['alerts_per_1000_user_days']} per 1,000 (budget {res['budget_per_1000_user_days']})")
    if res.get("labelled_true_alerts"):
        line += (f"; keeps {res['labelled_true_kept']}/{res['labelled_true_alerts']} confirmed and "
                 f"{res['labelled_false_kept']}/{res['labelled_false_alerts']} dismissed alerts")
    print(line)
    return 0


def _list(args) -> int:
    from models import registry

    rows = [m for m in registry.list_models(_registry(args)) if m["name"] == args.name]
    if not rows:
        print(f"no versions of {args.name} in {_registry(args)}", file=sys.stderr)
    for m in rows:
        flag = "*" if m["promoted"] else "s" if m["shadow"] else " "
        t = m.get("training", {})
        print(f"{flag} {m['version']:<20} threshold {m['threshold']:<8} "
              f"{'supervised' if m.get('supervised') else 'forest':<10} "
              f"{t.get('from', '?')} .. {t.get('to', '?')}  {t.get('events', '?')} events")
    return 0


def _show(args) -> int:
    from models import registry

    meta = registry.read_meta(args.name, args.version, _registry(args))
    print(orjson.dumps(meta, option=orjson.OPT_INDENT_2).decode())
    return 0


def _promote(args) -> int:
    from models import registry

    registry.load(args.name, args.version, _registry(args))  # refuse what the engine could not load
    registry.promote(args.name, args.version, _registry(args))
    print(f"{args.name}: promoted {args.version}")
    return 0


def _rollback(args) -> int:
    from models import registry

    print(f"{args.name}: back to {registry.rollback(args.name, _registry(args))}")
    return 0


def _shadow(args) -> int:
    from models import registry

    if args.off:
        registry.set_shadow(args.name, None, _registry(args))
        print(f"{args.name}: no shadow model")
        return 0
    registry.load(args.name, args.version, _registry(args))
    registry.set_shadow(args.name, args.version, _registry(args))
    print(f"{args.name}: {args.version} scores in shadow mode")
    return 0
