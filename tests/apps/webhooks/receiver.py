"""A webhook receiver for the tests: a small HTTP server thread on 127.0.0.1 that records every
request (headers, body, arrival time) and answers from a script of status codes."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time()
    status: int


@dataclass
class Receiver:
    """``statuses``: the answers to the first requests, then ``default``. ``hold``: when set,
    requests wait for ``release`` before answering (to kill a worker mid-delivery)."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    hold: bool = False
    status_for: object = None  # a callable: the request's body → a status, or None
    requests: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "Receiver":
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    status = receiver.status_for(body) if receiver.status_for else None
                    if status is None:
                        status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                    hold = receiver.hold
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                            status,
                        )
                    )
                receiver.arrived.set()
                if hold:
                    receiver.release.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def ids(self, status: int | None = 200) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests if status in (None, r.status)]
