"""Real HTTP on loopback: the app served in a thread or in processes of its own, and a
small browser (cookies, CSRF tokens, no redirects followed) to drive it from threads.

``serve_in_thread`` runs the app under Werkzeug's threaded server, as the browser tests
do; ``serve_processes`` starts ``litreview serve`` (waitress) in separate processes that
share one database, as app servers of a team do.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from tests.webapp import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROOT = Path(__file__).parents[1]


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]
    location: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One browser: its own cookies; forms posted with the CSRF token its pages carry."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects
        )
        self.token: str | None = None

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(request, timeout=120) as response:
                return Answer(
                    response.status,
                    response.read().decode(),
                    dict(response.headers),
                    response.headers.get("Location"),
                )
        except urllib.error.HTTPError as error:
            return Answer(
                error.code, error.read().decode(), dict(error.headers), error.headers["Location"]
            )

    def copy(self) -> Browser:
        """Another browser holding this one's cookies (the same signed-in session): a
        person's second tab, without a second sign-in (each costs an argon2 check)."""
        other = Browser(self.base)
        for cookie in self.jar:
            other.jar.set_cookie(cookie)
        other.token = self.token
        return other

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str] | None = None) -> Answer:
        if self.token is None:
            self.refresh_token()
        return self.request("POST", path, {"csrf_token": self.token or "", **(data or {})})

    def refresh_token(self, path: str = "/signin") -> None:
        found = _CSRF.search(self.get(path).text)
        self.token = found.group(1) if found else None

    def sign_in(self, email: str, password: str = PASSWORD) -> Answer:
        self.refresh_token()
        answer = self.post("/signin", {"email": email, "password": password})
        if answer.status == 302:
            self.refresh_token("/")  # a new session, a new token
        return answer


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, a thread per request; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="loopback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_processes(
    count: int, env: dict[str, str], data_root: Path, timeout: float = 60
) -> Iterator[list[str]]:
    """``count`` app servers (``litreview serve``, waitress), each a process with a data
    folder of its own, on one database (``env``'s LITREVIEW_DATABASE_URL); yields their
    base URLs once every one answers."""
    processes: list[subprocess.Popen] = []
    logs = []
    urls = []
    try:
        for n in range(count):
            port = _free_port()
            folder = data_root / f"server{n}"
            folder.mkdir(parents=True, exist_ok=True)
            child_env = {
                **os.environ,
                **env,
                "LITREVIEW_DATA_DIR": str(folder),
                "PYTHONPATH": str(ROOT),
            }
            log = (folder / "server.log").open("wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "litreview.cli.main", "serve", "--port", str(port)],
                    env=child_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=folder,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        for url, process in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, f"{url} exited: see {data_root}/*/server.log"
                try:
                    urllib.request.urlopen(url + "/signin", timeout=5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"{url} never answered"
                    time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for log in logs:
            log.close()


def at_once(count: int, work) -> list:
    """Run ``work(n)`` for n in range(count) in threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(60)
            results[n] = work(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    if errors:
        raise errors[0]
    return results
