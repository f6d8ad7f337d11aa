"""Stand up a litreview team server on this machine, and take it down again.

    python deploy/team_server.py start [--dir /tmp/litreview-team] [--apps 2] [--workers 2]
    python deploy/team_server.py status [--dir ...]
    python deploy/team_server.py stop [--dir ...] [--clean]

``start`` makes, in order:

1. the database: a PostgreSQL database (``--database``, default ``litreview_team``,
   created on the server of ``--admin-url``, default 127.0.0.1:5432 as user postgres with
   trust auth) or the one ``--database-url`` names, used as it is;
2. one secret key (``DIR/secret_key``, mode 600) that every app server signs cookies
   with, and one shared attachment folder (``DIR/files``);
3. the schema: ``litreview init`` (Alembic migrations, nothing if up to date);
4. ``--apps`` app servers, each gunicorn with ``--workers`` workers on 127.0.0.1 and a
   port of its own (``--port``, the next ones after it), each with a data folder of its
   own (``DIR/appN``): they share nothing but the database and ``DIR/files``;
5. the worker, ``litreview worker``, when this litreview has that command
   (``litreview worker --help`` succeeds), and then the app servers and the worker run
   with LITREVIEW_JOBS=queue; without it background work runs in the app servers' own
   threads, as before.

It waits until every app server answers, then writes ``DIR/team.json`` (the URLs, the
processes, the environment each runs with) and prints it. ``stop`` ends the processes
it started (each in a process group of its own: SIGTERM, then SIGKILL after
``--timeout``); ``--clean`` also drops the database if ``start`` created it and removes
DIR. Every process logs to ``DIR/<name>/<name>.log``.

litreview and gunicorn are run with ``--python`` (default: this Python), so a checkout
run with PYTHONPATH set serves that checkout's code. Loopback only: a server others reach
goes behind a TLS proxy (README, "Running it for a team").
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path("/tmp/litreview-team")
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _plain_url(url: str) -> str:
    """A URL psycopg takes (SQLAlchemy's ``+psycopg`` suffix removed)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


def _database_url(admin_url: str, name: str) -> str:
    """SQLAlchemy's URL of database ``name`` on the server of ``admin_url``."""
    base = _plain_url(admin_url).rsplit("/", 1)[0]
    return "postgresql+psycopg" + base[len("postgresql") :] + "/" + name


def create_database(admin_url: str, name: str) -> bool:
    """Create database ``name`` unless it exists; True if this call created it."""
    import psycopg

    if not name.replace("_", "").isalnum():
        raise SystemExit(f"--database {name!r}: letters, digits and _ only")
    with psycopg.connect(_plain_url(admin_url), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
        return True


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_plain_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shared_secret(root: Path) -> str:
    """The key every app server signs session cookies with, made once, owner-only."""
    path = root / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def _litreview(python: str) -> list[str]:
    return [python, "-m", "litreview.cli.main"]


def has_worker(python: str, env: dict[str, str]) -> bool:
    """Whether this litreview has `litreview worker` (the job queue's worker)."""
    done = subprocess.run(
        [*_litreview(python), "worker", "--help"], env=env, capture_output=True, check=False
    )
    return done.returncode == 0


def _spawn(name: str, argv: list[str], env: dict[str, str], folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a group of its own: stop ends it and its children
        )
    return {"name": name, "pid": process.pid, "argv": argv, "log": str(log)}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/signin", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of ours that exited is a zombie until reaped: not alive.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def start(args: argparse.Namespace) -> dict[str, Any]:
    root: Path = args.dir.resolve()
    if (root / "team.json").exists():
        raise SystemExit(f"{root}/team.json exists: a team server runs there (stop it first)")
    root.mkdir(parents=True, exist_ok=True)
    created = False
    if args.database_url:
        url = args.database_url
    else:
        created = create_database(args.admin_url, args.database)
        url = _database_url(args.admin_url, args.database)
    files = root / "files"
    files.mkdir(exist_ok=True)
    common = {
        **os.environ,
        "LITREVIEW_DATABASE_URL": url,
        "LITREVIEW_SEARCH": "postgres",
        "LITREVIEW_SECRET_KEY": shared_secret(root),
        "LITREVIEW_ATTACHMENTS_DIR": str(files),
    }
    team: dict[str, Any] = {
        "dir": str(root),
        "database_url": url,
        "created_database": created,
        "admin_url": args.admin_url,
        "database": None if args.database_url else args.database,
        "attachments_dir": str(files),
        "urls": [],
        "processes": [],
        "worker": False,
    }
    try:
        init_env = {**common, "LITREVIEW_DATA_DIR": str(root / "app1")}
        _say(f"migrating {url.rsplit('@', 1)[-1]}")
        subprocess.run(
            [*_litreview(args.python), "init"], env=init_env, check=True, stdout=sys.stderr
        )
        worker_env = {**common, "LITREVIEW_DATA_DIR": str(root / "worker")}
        if has_worker(args.python, worker_env):
            # App servers queue background jobs; the worker takes them (PostgreSQL's queue).
            common["LITREVIEW_JOBS"] = worker_env["LITREVIEW_JOBS"] = "queue"
            team["worker"] = True
        else:
            _say("this litreview has no `litreview worker`: background work runs in the apps")
        ports = [int(p) for p in args.ports.split(",")] if args.ports else []
        ports += [args.port + n for n in range(len(ports), args.apps)]
        for n, port in enumerate(ports[: args.apps], start=1):
            folder = root / f"app{n}"
            env = {**common, "LITREVIEW_DATA_DIR": str(folder)}
            argv = [
                args.python,
                "-m",
                "gunicorn",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "10",
                "--access-logfile",
                str(folder / "access.log"),
                # gunicorn's control socket, one per app server (by default all share one
                # path in the home folder).
                "--control-socket",
                str(folder / "gunicorn.ctl"),
                "litreview:create_app()",
            ]
            team["processes"].append(_spawn(f"app{n}", argv, env, folder))
            team["urls"].append(f"http://127.0.0.1:{port}")
        if team["worker"]:
            argv = [*_litreview(args.python), "worker"]
            team["processes"].append(_spawn("worker", argv, worker_env, root / "worker"))
        deadline = time.monotonic() + args.timeout
        for url_, process in zip(team["urls"], team["processes"], strict=False):
            while not _answers(url_):
                if not _alive(process["pid"]):
                    raise SystemExit(f"{process['name']} exited: see {process['log']}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url_} did not answer in {args.timeout} s")
                time.sleep(0.1)
        for process in team["processes"]:
            if not _alive(process["pid"]):
                raise SystemExit(f"{process['name']} exited: see {process['log']}")
    except BaseException:
        _stop_processes(team["processes"], args.timeout)
        if created:
            drop_database(args.admin_url, args.database)
        raise
    (root / "team.json").write_text(json.dumps(team, indent=1), encoding="utf-8")
    return team


def _stop_processes(processes: list[dict[str, Any]], timeout: float) -> None:
    for process in processes:
        try:
            os.killpg(process["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for process in processes:
        while _alive(process["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(process["pid"]):
            _say(f"{process['name']} still running after {timeout} s: killed")
            try:
                os.killpg(process["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass


def stop(args: argparse.Namespace) -> dict[str, Any]:
    root: Path = args.dir.resolve()
    path = root / "team.json"
    if not path.exists():
        raise SystemExit(f"{path}: no team server started there")
    team = json.loads(path.read_text(encoding="utf-8"))
    _stop_processes(team["processes"], args.timeout)
    path.unlink()
    if args.clean:
        if team.get("created_database"):
            drop_database(team["admin_url"], team["database"])
        shutil.rmtree(root, ignore_errors=True)
    return {"stopped": [p["name"] for p in team["processes"]], "cleaned": args.clean}


def status(args: argparse.Namespace) -> dict[str, Any]:
    path = args.dir.resolve() / "team.json"
    if not path.exists():
        raise SystemExit(f"{path}: no team server started there")
    team = json.loads(path.read_text(encoding="utf-8"))
    for process in team["processes"]:
        process["running"] = _alive(process["pid"])
    team["answering"] = [url for url in team["urls"] if _answers(url)]
    return team


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where it all lives")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="the PostgreSQL server")
    parser.add_argument("--database", default="litreview_team", help="created if missing")
    parser.add_argument("--database-url", help="use this database as it is (not created)")
    parser.add_argument("--apps", type=int, default=2, help="app servers (default 2)")
    parser.add_argument("--port", type=int, default=8001, help="the first app server's port")
    parser.add_argument("--ports", help="the app servers' ports, e.g. 8001,8005 (over --port)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--python", default=sys.executable, help="the Python litreview is in")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to start or stop")
    parser.add_argument("--clean", action="store_true", help="stop: drop what start made")
    args = parser.parse_args(argv)
    result = {"start": start, "stop": stop, "status": status}[args.action](args)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
