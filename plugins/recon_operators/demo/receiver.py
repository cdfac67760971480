"""A local HTTP endpoint standing in for a Slack webhook, for the demo and the tests.

``python -m recon_operators.demo.receiver --port 8099`` runs one in the foreground and prints
each alert it gets: the demo's closing lines point the ``slack_alerts`` connection at it.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def slack_conn(port: int) -> str:
    """``AIRFLOW_CONN_*`` value for a Slack webhook connection aimed at a receiver on ``port``
    (SlackWebhookHook builds ``{schema}://{host}/{password}``)."""
    return json.dumps(
        {
            "conn_type": "slackwebhook",
            "host": f"127.0.0.1:{port}",
            "schema": "http",
            "password": "services/T000/B000/not-a-secret",
        }
    )


class WebhookReceiver:
    """A local HTTP endpoint standing in for Slack: records every POST body."""

    def __init__(self, port: int = 0, on_receive: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode("utf-8")
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    body = {"raw": raw}
                received.append(body)
                if on_receive is not None:
                    on_receive(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def airflow_conn(self) -> str:
        return slack_conn(self.port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the Slack alerts Airflow sends to 127.0.0.1:PORT")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    done = threading.Event()
    receiver = WebhookReceiver(args.port, on_receive=lambda body: print(body.get("text", body), "\n", flush=True))
    print(f"receiving Slack alerts on 127.0.0.1:{receiver.port}; Ctrl-C stops", flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
