"""A loopback HTTP server that answers the Grafana API calls `push` makes, like Grafana does,
and records them. No Grafana server runs in this environment; this stands in for it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GrafanaRecorder:
    def __init__(self, token: str = "test-token", version: str = "10.4.2"):
        self.token = token
        self.version = version
        self.calls: list[tuple[str, str, dict | None]] = []
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.datasources: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "GrafanaRecorder":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- Grafana's answers ------------------------------------------------------------------
    def answer(self, method: str, path: str, body: dict | None) -> tuple[int, object]:
        path = path.split("?")[0]
        if method == "GET" and path == "/api/frontend/settings":
            return 200, {"buildInfo": {"version": self.version, "commit": "abc", "edition": "Open Source"}}
        if method == "POST" and path == "/api/folders":
            uid = body.get("uid") or f"f{len(self.folders) + 1}"
            if uid in self.folders or any(f["title"] == body["title"] for f in self.folders.values()):
                return 409, {"message": "a folder with the same name already exists"}
            folder = {"id": len(self.folders) + 1, "uid": uid, "title": body["title"],
                      "url": f"/dashboards/f/{uid}/", "version": 1}
            self.folders[uid] = folder
            return 200, folder
        if method == "GET" and path == "/api/folders":
            return 200, [{"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in self.folders.values()]
        if method == "POST" and path == "/api/dashboards/db":
            dash = body.get("dashboard") or {}
            if not dash.get("title", "").strip():
                return 400, {"message": "Dashboard title cannot be empty"}
            folder_uid = body.get("folderUid")
            if folder_uid and folder_uid not in self.folders:
                return 400, {"message": "folder not found"}
            uid = dash.get("uid")
            old = self.dashboards.get(uid)
            if old and not body.get("overwrite") and dash.get("version") != old["dashboard"]["version"]:
                return 412, {"message": "The dashboard has been changed by someone else",
                             "status": "version-mismatch"}
            version = old["dashboard"]["version"] + 1 if old else 1
            saved = {**dash, "version": version, "id": old["dashboard"]["id"] if old else len(self.dashboards) + 1}
            self.dashboards[uid] = {"dashboard": saved, "folderUid": folder_uid, "message": body.get("message")}
            slug = dash["title"].lower().replace(" ", "-")
            return 200, {"id": saved["id"], "uid": uid, "url": f"/d/{uid}/{slug}", "status": "success",
                         "version": version, "slug": slug}
        if method == "POST" and path == "/api/datasources":
            if body["uid"] in self.datasources or any(d["name"] == body["name"] for d in self.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            ds = {**body, "id": len(self.datasources) + 1}
            self.datasources[body["uid"]] = ds
            return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource added", "name": ds["name"]}
        if method == "PUT" and path.startswith("/api/datasources/uid/"):
            uid = path.rsplit("/", 1)[1]
            if uid not in self.datasources:
                return 404, {"message": "Data source not found"}
            self.datasources[uid] = {**self.datasources[uid], **body}
            return 200, {"datasource": self.datasources[uid], "id": self.datasources[uid]["id"],
                         "message": "Datasource updated", "name": body["name"]}
        return 404, {"message": "Not found"}

    def _handler(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with recorder._lock:
                    recorder.calls.append((self.command, self.path, body))
                    if self.headers.get("Authorization") != f"Bearer {recorder.token}":
                        status, payload = 401, {"message": "Unauthorized"}
                    else:
                        status, payload = recorder.answer(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):
                pass

        return Handler
