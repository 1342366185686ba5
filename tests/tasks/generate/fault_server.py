"""A real local HTTP endpoint that fails on purpose (fault injection for the generation client).

Not a stand-in for vLLM: it either fails (status code, hang, dropped connection), lists a given model
on /v1/models, or forwards requests unchanged to a real upstream vLLM server until told to fail.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class FaultServer:
    """`with FaultServer(...) as server:`; server.url, server.requests (paths received, in order)."""

    def __init__(self, status: int = 503, hang_s: float = 0.0, drop: bool = False, models: list[str] | None = None,
                 upstream: str | None = None, forward_completions: int = 0):
        self.status, self.hang_s, self.drop, self.models = status, hang_s, drop, models
        self.upstream, self.forward_completions = upstream, forward_completions
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # dropped connections are the point
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "FaultServer":
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def completions(self) -> int:
        return sum(path == "/v1/completions" for path in self.requests)

    def _should_forward(self, path: str) -> bool:
        if self.upstream is None:
            return False
        if path != "/v1/completions":
            return True
        with self._lock:  # the first `forward_completions` completion requests reach the real server
            return self.completions() <= self.forward_completions

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests.append(self.path)
                if server._should_forward(self.path):
                    answer = httpx.request(method, server.upstream + self.path, content=body,
                                           headers={"Content-Type": "application/json"}, timeout=300)
                    return self._reply(answer.status_code, answer.content)
                if server.models is not None and self.path == "/v1/models":
                    data = [{"id": name, "object": "model"} for name in server.models]
                    return self._reply(200, httpx.Response(200, json={"object": "list", "data": data}).content)
                if server.hang_s:
                    time.sleep(server.hang_s)
                if server.drop:
                    self.close_connection = True
                    return self.connection.shutdown(2)
                self._reply(server.status, b'{"error": "injected fault"}')

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        return Handler


def closed_port_url() -> str:
    """A URL nothing listens on (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
