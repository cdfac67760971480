"""A local HTTP endpoint standing in for a Slack webhook, for the demo and the tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """A local HTTP endpoint standing in for Slack: records every POST body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode("utf-8")
                try:
                    received.append(json.loads(raw))
                except json.JSONDecodeError:
                    received.append({"raw": raw})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def airflow_conn(self) -> str:
        """``AIRFLOW_CONN_*`` value for a Slack webhook connection aimed at this receiver
        (SlackWebhookHook builds ``{schema}://{host}/{password}``)."""
        return json.dumps({"conn_type": "slackwebhook", "host": f"127.0.0.1:{self.port}", "schema": "http",
                           "password": "services/T000/B000/not-a-secret"})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
