"""Helpers for the alert tests: alert factory, routing data, a timeline driver."""

from __future__ import annotations

from streamer.alert.pipeline import Pipeline
from streamer.timeutil import format_ms

T0 = 1_796_007_600_000  # 2026-11-30T03:00:00Z
S = 1000
M = 60 * S

ROUTES = """
fingerprint_labels: [user_id, detector, incident]
resolve_timeout: 1h
route:
  receiver: soc
  group_by: [user_id]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - receiver: pager
      min_severity: high
      page: true
      repeat_interval: 2h
      continue: true
    - receiver: soc
receivers:
  - {name: soc, type: webhook}
  - {name: pager, type: pagerduty}
"""

INHIBIT = """
inhibit_rules:
  - name: critical-mutes-lower
    source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"low|medium|high"']
    equal: [user_id]
"""

SILENCES = """
silences:
  - id: irb-114
    matchers: ['user_id="research_svc"', 'detector="bulk_export"']
    starts_at: "2026-11-30T03:00:00Z"
    ends_at: "2026-11-30T04:00:00Z"
    reason: Approved research export for IRB protocol 114.
    created_by: privacy-office
"""


def make_alert(alert_id="a1", user="jdoe", detector="bulk_export", severity="high", t=T0,
               status="firing", n=1, first=None, **extra) -> dict:
    """An alert dict as the detection engine emits it (contract + labels/status/updated_time)."""
    alert = {
        "alert_id": alert_id, "user_id": user, "detector": detector, "severity": severity,
        "score": 0.9, "risk": 70.0, "event_ids": [f"{alert_id}-e{i}" for i in range(n)],
        "event_count": n, "first_event_time": format_ms(first if first is not None else t),
        "last_event_time": format_ms(t), "updated_time": format_ms(t), "status": status,
        "summary": f"{user} exported {n} studies; usual is 0-3 a day",
        "explanation": [{"feature": "exports_1h", "value": n, "expected": 1.2, "baseline": "self"}],
        "labels": {"user_id": user, "detector": detector, "severity": severity,
                   "department": "neuroradiology", "role": "radiologist"},
        "peer_group": "radiologist|neuroradiology", "detectors": [detector], "incident": alert_id,
    }
    alert.update(extra)
    return alert


def run(pipeline: Pipeline, pushes: list[tuple[int, dict]], until: int, step: int = S):
    """Push alerts at their times and tick every `step` ms up to `until`; returns [(t, n)]."""
    out = []
    pushes = sorted(pushes, key=lambda p: p[0])
    t, i = pushes[0][0] if pushes else T0, 0
    while t <= until:
        while i < len(pushes) and pushes[i][0] <= t:
            out += [(t, n) for n in pipeline.push(pushes[i][1], t)]
            i += 1
        out += [(t, n) for n in pipeline.tick(t)]
        t += step
    return out


def by_receiver(notes, receiver):
    return [(t, n) for t, n in notes if n.receiver == receiver]


class Receiver:
    """A real aiohttp HTTP receiver on 127.0.0.1 that records requests.

    `fail_first` requests get HTTP 503; `slow_first` requests are processed but answered after
    `slow_s` seconds (the client times out). Processed notifications are deduplicated by their
    X-Notification-Id, as the webhook documentation asks receivers to do.
    """

    def __init__(self, port: int = 0, fail_first: int = 0, slow_first: int = 0, slow_s: float = 1.0):
        self.port, self.fail_first, self.slow_first, self.slow_s = port, fail_first, slow_first, slow_s
        self.requests: list[tuple[str, dict, bytes]] = []  # every request (path, headers, body)
        self.accepted: list[tuple[str, dict, bytes]] = []  # answered 2xx
        self.processed_ids: list[str] = []  # distinct notification ids acted upon
        self._runner = None

    async def _handle(self, request):
        from aiohttp import web
        import asyncio
        body = await request.read()
        item = (request.path, dict(request.headers), body)
        self.requests.append(item)
        n = len(self.requests)
        if n <= self.fail_first:
            return web.Response(status=503, text="down for maintenance")
        nid = request.headers.get("X-Notification-Id")
        if nid and nid not in self.processed_ids:
            self.processed_ids.append(nid)
        if n <= self.fail_first + self.slow_first:
            await asyncio.sleep(self.slow_s)
        self.accepted.append(item)
        if request.path == "/v2/enqueue":
            return web.json_response({"status": "success", "message": "Event processed"}, status=202)
        return web.json_response({})

    async def start(self) -> "Receiver":
        from aiohttp import web
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
