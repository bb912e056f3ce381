"""Copy a scenario with optional event fields left out, as audit sources leave them out.

    python models/heldout/strip_fields.py SRC DST FORM

FORM a: no study department, modality, sensitivity, accession; no client host, location; no
        user name, session id; no patient name; no source.
FORM b: a, and no user roles or department (the roster's only).
FORM c: b, and only the study's uid and the client's IP left.
The other files of SRC (labels, roster, watchlist, meta) are copied unchanged."""

from __future__ import annotations

import os
import shutil
import sys

import orjson


def strip(event: dict, form: str) -> dict:
    event.pop("source", None)
    study, client, user = event.get("study"), event.get("client"), event["user"]
    if study:
        for key in ("department", "modality", "sensitivity", "accession"):
            study.pop(key, None)
    if client:
        client.pop("host", None)
        client.pop("location", None)
    user.pop("name", None)
    user.pop("session_id", None)
    if event.get("patient"):
        event["patient"].pop("name", None)
    if form in ("b", "c"):
        user.pop("roles", None)
        user.pop("department", None)
    if form == "c":
        if study:
            event["study"] = {"uid": study["uid"]}
        if client:
            event["client"] = {"ip": client["ip"]} if "ip" in client else {}
    return event


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[2] not in ("a", "b", "c"):
        print(__doc__, file=sys.stderr)
        return 1
    src, dst, form = argv
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if name != "events.jsonl" and os.path.isfile(path):
            shutil.copy(path, dst)
    with open(os.path.join(src, "events.jsonl"), "rb") as fi, \
            open(os.path.join(dst, "events.jsonl"), "wb") as fo:
        for line in fi:
            fo.write(orjson.dumps(strip(orjson.loads(line), form)) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
