"""Load test: simulated reviewers screening, tagging and searching while an import runs.

    .venv/bin/python bench/bench_load.py team   [--reviewers 20] [--duration 120]
    .venv/bin/python bench/bench_load.py sqlite [--ramp 5,10,20,40] [--step 30]

Loopback only, bounded in time (``--duration`` / ``--step`` seconds of load) and in
requests (``--max-requests`` in all). Each simulated reviewer is a thread with a
browser of its own (cookies, CSRF tokens, no redirects followed) that signs in through
the real form (argon2 at the app's own cost) and then, until time is up, does one thing
after another with ``--think`` seconds (mean, uniform 0.5x-1.5x) between them:

* screen (60%): open the screening page's next record and decide it (include, exclude
  or maybe); one time in ten, change its decision on a record it decided earlier, and
  one time in twenty decide (or change its mind on) the one record everyone decides;
* tag (25%): tag or untag a record of its own (records are dealt out to reviewers, so
  each knows what its own should be) to Q1..Q3, and one time in four the one "hot"
  record every reviewer tags and untags to Q1 at once;
* search (15%): a word or two from the library's titles.

Meanwhile the lead uploads a RIS file on the import page (``--import-size`` new records)
and follows its progress until it ends.

``team``: deploy/team_server.py stands up a PostgreSQL database of its own, two gunicorn
app servers (``--workers`` each, their own data folders) and the worker if there is one;
reviewers are dealt to the app servers in turn. ``sqlite``: ``litreview serve``
(waitress, the embedded default) on a SQLite data folder; each ramp step adds reviewers
(new accounts) and its own import, and the step "holds" when no request got a 500, no
write was lost and the p95 of every reviewer endpoint stays under ``--p95-bound``.

Afterwards every client's beliefs are checked against the database: each reviewer's
current decision per record is the one it last got a 303 for (a request that failed
may or may not have landed: those records are "uncertain" and not held against it), one
decision row per change it made, one current row per record; each of its own tags is
there or not as it last set it, with one ``record.tag`` / ``record.untag`` audit entry
per change; the hot record's audit entries alternate tag, untag, tag... (never two
alike in a row: one tag, one entry); the outcome kept for each record and stage is the
one the rule (``screening.outcomes.refresh``) makes of its current decisions. It
prints a Markdown report: requests, statuses (500s, 503s, connection errors),
p50/p95/max per endpoint, CPU seconds of the app servers, the worker, PostgreSQL's
backends of this database and the load generator, beside the machine's whole busy CPU
(other work shares it: read the ratio).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.generate import build, to_ris  # noqa: E402
from litreview.db import make_engine  # noqa: E402
from litreview.library import reviews  # noqa: E402
from litreview.models import (  # noqa: E402
    AuditEntry,
    Decision,
    Membership,
    Record,
    RecordTag,
    StageOutcome,
    User,
)
from litreview.screening import outcomes  # noqa: E402

SLUG = "load"
STAGE = "title_abstract"
PASSWORD = "load test password 1"
QUESTIONS = ("Q1", "Q2", "Q3")
TAG_POOL = 400  # records 1..TAG_POOL are dealt out to reviewers for tagging
HOT_RECORD = TAG_POOL + 1  # every reviewer tags and untags it to Q1
HOT_DECISION = TAG_POOL + 2  # every reviewer decides it, and changes its mind
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEXT = re.compile(rf'action="/r/{SLUG}/screen/{STAGE}/(\d+)"')
REVIEWER_ENDPOINTS = ("screen_next", "decide", "tag", "untag", "search")
_JOB = re.compile(rf"/r/{SLUG}/import/jobs/([^/\"]+)")


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measuring requests


@dataclass
class Stats:
    """Every request's endpoint, status and wall time; a lock for the threads."""

    samples: list[tuple[str, int, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    budget: int = 10**9

    def add(self, endpoint: str, status: int, seconds: float) -> None:
        with self.lock:
            self.samples.append((endpoint, status, seconds))

    def spent(self) -> bool:
        return len(self.samples) >= self.budget


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """One person's browser: cookies, the CSRF token of the session, no redirects."""

    def __init__(self, base: str, stats: Stats) -> None:
        self.base, self.stats = base, stats
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects
        )
        self.token = ""

    def send(
        self,
        endpoint: str,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        upload: tuple[str, bytes] | None = None,
    ) -> tuple[int, str, str]:
        """(status, body, Location); status 0 when the connection failed or timed out."""
        headers = {}
        body = None
        if method == "POST":
            fields = {"csrf_token": self.token, **(data or {})}
            if upload is None:
                body = urllib.parse.urlencode(fields).encode()
            else:
                body, ctype = _multipart(fields, "files", *upload)
                headers["Content-Type"] = ctype
        request = urllib.request.Request(self.base + path, data=body, method=method)
        for key, value in headers.items():
            request.add_header(key, value)
        start = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                status, text = response.status, response.read().decode()
                location = response.headers.get("Location") or ""
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
            location = error.headers.get("Location") or ""
        except OSError:
            status, text, location = 0, "", ""
        self.stats.add(endpoint, status, time.perf_counter() - start)
        return status, text, location

    def sign_in(self, email: str) -> bool:
        status, page, _ = self.send("signin_page", "GET", "/signin")
        found = _CSRF.search(page)
        self.token = found.group(1) if found else ""
        status, _, _ = self.send(
            "signin", "POST", "/signin", {"email": email, "password": PASSWORD}
        )
        if status != 302:
            return False
        _, page, _ = self.send("home", "GET", "/")
        found = _CSRF.search(page)
        self.token = found.group(1) if found else ""
        return bool(self.token)


def _multipart(fields: dict[str, str], name: str, filename: str, content: bytes):
    boundary = secrets.token_hex(16)
    parts = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        )
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    body = "".join(parts).encode() + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- what each reviewer did


@dataclass
class Belief:
    """What one reviewer believes it did, from the answers it got."""

    email: str
    index: int
    decisions: dict[int, str] = field(default_factory=dict)  # record -> last 303'd
    changes: Counter = field(default_factory=Counter)  # record -> decisions that landed
    uncertain: set[int] = field(default_factory=set)  # a decision POST that failed
    tags: dict[tuple[int, str], bool] = field(default_factory=dict)
    tag_changes: Counter = field(default_factory=Counter)  # (record, code, action)
    tag_uncertain: set[tuple[int, str]] = field(default_factory=set)


def reviewer(
    browser: Browser,
    belief: Belief,
    owned: list[int],
    words: list[str],
    deadline: float,
    think: float,
    rng: random.Random,
) -> None:
    base = f"/r/{SLUG}"
    while time.monotonic() < deadline and not browser.stats.spent():
        roll = rng.random()
        if roll < 0.60:
            pick = rng.random()
            if pick < 0.05:
                record = HOT_DECISION
            elif belief.decisions and pick < 0.15:  # change an earlier decision
                record = rng.choice(sorted(belief.decisions))
            else:
                status, page, _ = browser.send("screen_next", "GET", f"{base}/screen/{STAGE}/")
                found = _NEXT.search(page) if status == 200 else None
                if found is None:
                    time.sleep(think)
                    continue
                record = int(found.group(1))
            old = belief.decisions.get(record)
            choice = rng.choice([d for d in ("include", "exclude", "maybe") if d != old])
            status, _, _ = browser.send(
                "decide", "POST", f"{base}/screen/{STAGE}/{record}", {"decision": choice}
            )
            if status == 303:
                belief.decisions[record] = choice
                belief.changes[record] += 1
            else:
                belief.uncertain.add(record)
        elif roll < 0.85:
            hot = rng.random() < 0.25
            record = HOT_RECORD if hot else rng.choice(owned)
            code = "Q1" if hot else rng.choice(QUESTIONS)
            tagged = rng.random() < 0.5 if hot else belief.tags.get((record, code), False)
            question = QUESTIONS.index(code) + 1
            if tagged:
                path = f"{base}/records/{record}/tags/{question}/remove"
                status, _, _ = browser.send("untag", "POST", path, {})
            else:
                path = f"{base}/records/{record}/tags"
                status, _, _ = browser.send("tag", "POST", path, {"question": code})
            if not hot:
                if status == 303:
                    belief.tags[(record, code)] = not tagged
                    belief.tag_changes[(record, code, "untag" if tagged else "tag")] += 1
                else:
                    belief.tag_uncertain.add((record, code))
        else:
            query = " ".join(rng.sample(words, rng.choice((1, 1, 2))))
            path = f"{base}/search?" + urllib.parse.urlencode({"q": query})
            browser.send("search", "GET", path)
        time.sleep(rng.uniform(0.5 * think, 1.5 * think))


def importer(browser: Browser, ris: bytes, report: dict[str, Any]) -> None:
    """The lead uploads a RIS file and follows the import's progress until it ends."""
    start = time.monotonic()
    status, _, location = browser.send(
        "import_upload", "POST", f"/r/{SLUG}/import", {"source": "load"}, ("load.ris", ris)
    )
    found = _JOB.search(location)
    if status != 303 or not found:
        report["state"] = f"upload answered {status}"
        return
    state = "queued"
    while time.monotonic() - start < 900:
        status, text, _ = browser.send(
            "import_status", "GET", f"/r/{SLUG}/import/jobs/{found.group(1)}/status.json"
        )
        if status == 200:
            state = json.loads(text)["state"]
            if state not in ("queued", "running"):
                break
        time.sleep(1.0)
    report.update(state=state, seconds=round(time.monotonic() - start, 1))


# ---------------------------------------------------------------- setting up a review


def reviewer_emails(count: int) -> list[str]:
    return [f"r{n:02d}@load.example" for n in range(1, count + 1)]


def prepare(env: dict[str, str], reviewers: int, size: int) -> list[str]:
    """Review ``load`` with Q1..Q3, a lead and ``reviewers`` reviewers (one real argon2
    hash at the app's cost, so each sign-in costs what it costs), and a library of
    ``size`` generated records imported with `litreview import`; its title words."""
    engine = make_engine(env["LITREVIEW_DATABASE_URL"])
    password_hash = PasswordHasher().hash(PASSWORD)
    with Session(engine) as session:
        review = reviews.create_review(session, SLUG, "Load test", "bench")
        for n, code in enumerate(QUESTIONS, start=1):
            reviews.add_question(session, review, code, f"Question {n}", "bench")
        for email in ["lead@load.example", *reviewer_emails(reviewers)]:
            user = User(email=email, name=email.split("@")[0], password_hash=password_hash)
            session.add(user)
            session.flush()
            role = "lead" if email.startswith("lead") else "reviewer"
            session.add(Membership(review_id=review.id, user_id=user.id, role=role))
        session.commit()
    engine.dispose()
    records, _truth = build(size, seed=1)
    folder = Path(env["LITREVIEW_DATA_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "library.ris"
    path.write_text("".join(to_ris(r) for r in records), encoding="utf-8")
    command = [sys.executable, "-m", "litreview.cli.main", "import", SLUG, str(path)]
    subprocess.run(command + ["--as", "lead@load.example"], env=env, check=True, stdout=2)
    words = {w.lower() for r in records for w in re.findall(r"[A-Za-z]{6,}", r["title"])}
    return sorted(words)


def add_reviewers(env: dict[str, str], emails: list[str]) -> None:
    engine = make_engine(env["LITREVIEW_DATABASE_URL"])
    with Session(engine) as session:
        known = set(session.scalars(sa.select(User.email)))
        review_id = session.scalar(sa.text("SELECT id FROM review WHERE slug = :s"), {"s": SLUG})
        password_hash = PasswordHasher().hash(PASSWORD)
        for email in emails:
            if email in known:
                continue
            user = User(email=email, name=email.split("@")[0], password_hash=password_hash)
            session.add(user)
            session.flush()
            session.add(Membership(review_id=review_id, user_id=user.id, role="reviewer"))
        session.commit()
    engine.dispose()


def import_file(size: int, seed: int) -> bytes:
    """A RIS file of new records (DOIs of their own: the generator numbers them)."""
    records, _truth = build(size, seed=seed)
    text = "".join(to_ris(r) for r in records)
    return text.replace("10.5555/bench.", f"10.5555/bench{seed}.").encode()


# ---------------------------------------------------------------- checking the database


def verify(database_url: str, beliefs: list[Belief]) -> dict[str, Any]:
    """Every reviewer's beliefs against the rows; the hot record's audit entries."""
    engine = make_engine(database_url)
    problems: list[str] = []
    checked = Counter()
    with Session(engine) as session:
        ids = dict(session.execute(sa.select(User.email, User.id)).all())
        codes = dict(session.execute(sa.text("SELECT id, code FROM review_question")).all())
        for b in beliefs:
            uid = ids[b.email]
            rows = session.execute(
                sa.select(Decision.record_id, Decision.decision, Decision.current).where(
                    Decision.user_id == uid, Decision.stage == STAGE
                )
            ).all()
            current: dict[int, list[str]] = defaultdict(list)
            written: Counter = Counter()
            for record, decision, is_current in rows:
                written[record] += 1
                if is_current:
                    current[record].append(decision)
            for record, decisions in current.items():
                if len(decisions) > 1:
                    problems.append(f"{b.email}: {len(decisions)} current decisions on {record}")
            for record in set(current) | set(b.decisions):
                if record in b.uncertain:
                    checked["uncertain decisions"] += 1
                    continue
                checked["decisions"] += 1
                if current.get(record, [None])[0] != b.decisions.get(record):
                    problems.append(
                        f"{b.email}: record {record} is {current.get(record)} in the database, "
                        f"{b.decisions.get(record)} as the reviewer saw it"
                    )
                elif written[record] != b.changes[record]:
                    problems.append(
                        f"{b.email}: record {record} has {written[record]} decision rows for "
                        f"{b.changes[record]} changes"
                    )
            for (record, code), tagged in b.tags.items():
                if (record, code) in b.tag_uncertain:
                    checked["uncertain tags"] += 1
                    continue
                checked["tags"] += 1
                question = next(q for q, c in codes.items() if c == code)
                there = session.scalar(
                    sa.select(sa.func.count(RecordTag.id)).where(
                        RecordTag.record_id == record, RecordTag.question_id == question
                    )
                )
                if there != int(tagged):
                    problems.append(f"{b.email}: record {record} {code}: {there} tags, {tagged}")
                for action in ("tag", "untag"):
                    logged = session.scalar(
                        sa.select(sa.func.count(AuditEntry.id)).where(
                            AuditEntry.action == f"record.{action}",
                            AuditEntry.target_id == record,
                            AuditEntry.details["question"].as_string() == code,
                        )
                    )
                    if logged != b.tag_changes[(record, code, action)]:
                        problems.append(
                            f"{b.email}: record {record} {code}: {logged} record.{action} "
                            f"entries for {b.tag_changes[(record, code, action)]} changes"
                        )
        hot = session.scalars(
            sa.select(AuditEntry.action)
            .where(
                AuditEntry.action.in_(["record.tag", "record.untag"]),
                AuditEntry.target_id == HOT_RECORD,
            )
            .order_by(AuditEntry.id)
        ).all()
        doubled = sum(1 for a, b in zip(hot, hot[1:], strict=False) if a == b)
        if doubled:
            problems.append(f"hot record: {doubled} audit entries repeat the one before")
        checked["hot record audit entries"] = len(hot)
        # The outcome kept per record and stage is what the one rule makes of the current
        # decisions now: refresh() rewrites it from them; compared, then rolled back.
        review = reviews.get_review(session, SLUG)
        table = StageOutcome.__table__
        kept_rows = sa.select(table.c.record_id, table.c.stage, table.c.outcome, table.c.votes)

        def kept() -> set[tuple]:
            return set(session.execute(kept_rows.where(table.c.review_id == review.id)).all())

        before = kept()
        outcomes.refresh(session, review)
        after = kept()
        session.rollback()
        for row in sorted(before ^ after)[:10]:
            problems.append(f"kept outcome differs from its decisions: {row}")
        checked["kept outcomes"] = len(before)
        # Single mode wants one reviewer per record: how often did several decide one?
        deciders = session.execute(
            sa.select(Decision.record_id, sa.func.count(sa.distinct(Decision.user_id)))
            .where(Decision.review_id == review.id, Decision.stage == STAGE)
            .where(Decision.current.is_(True), Decision.record_id != HOT_DECISION)
            .group_by(Decision.record_id)
        ).all()
        checked["records decided"] = len(deciders)
        checked["of them by 2+ reviewers"] = sum(1 for _, n in deciders if n > 1)
        records = session.scalar(sa.select(sa.func.count(Record.id)))
    engine.dispose()
    return {"problems": problems, "checked": dict(checked), "records": records}


# ---------------------------------------------------------------- CPU


def _ticks(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of reaped children) of a process, in seconds; zeros once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / hz, (int(fields[13]) + int(fields[14])) / hz


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live descendants and the children it reaped."""
    own, reaped = _ticks(pid)
    return own + reaped + sum(tree_cpu(child) for child in _children(pid))


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each live PostgreSQL backend serving ``database``."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            found[int(proc.name)] = _ticks(int(proc.name))[0]
    return found


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (every core)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    def __init__(self, processes: dict[str, int], database: str | None) -> None:
        self.processes, self.database = processes, database

    def snapshot(self) -> dict[str, Any]:
        own = os.times()
        return {
            "processes": {name: tree_cpu(pid) for name, pid in self.processes.items()},
            "postgres": postgres_cpu(self.database) if self.database else {},
            "client": own.user + own.system,
            "machine": machine_busy(),
            "wall": time.monotonic(),
        }

    @staticmethod
    def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        out = {
            name: after["processes"][name] - before["processes"].get(name, 0.0)
            for name in after["processes"]
        }
        if after["postgres"] or before["postgres"]:
            out["postgres backends"] = sum(
                cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items()
            )
        out["load generator"] = after["client"] - before["client"]
        out["machine (all)"] = after["machine"] - before["machine"]
        out["wall"] = after["wall"] - before["wall"]
        return {k: round(v, 1) for k, v in out.items()}


# ---------------------------------------------------------------- one run of load


def run_load(
    urls: list[str],
    beliefs: list[Belief],
    words: list[str],
    seconds: float,
    think: float,
    ris: bytes,
    stats: Stats,
    seed: int,
    meter: CpuMeter,
    owned_per: int,
) -> dict[str, Any]:
    """Everyone signs in at once (as a team does in the morning; timed, not in the
    window), then ``seconds`` of screening, tagging and searching while the lead imports."""
    lead = Browser(urls[0], stats)
    browsers = [Browser(urls[n % len(urls)], stats) for n in range(len(beliefs))]
    emails = ["lead@load.example"] + [b.email for b in beliefs]
    signed: dict[int, bool] = {}
    started = time.monotonic()

    def sign_in(n: int, browser: Browser) -> None:
        signed[n] = browser.sign_in(emails[n])

    pending = [
        threading.Thread(target=sign_in, args=(n, b)) for n, b in enumerate([lead, *browsers])
    ]
    for thread in pending:
        thread.start()
    for thread in pending:
        thread.join(600)
    report: dict[str, Any] = {
        "sign_in_seconds": round(time.monotonic() - started, 1),
        "not_signed_in": [emails[n] for n in range(len(emails)) if not signed.get(n)],
    }
    before = meter.snapshot()
    deadline = time.monotonic() + seconds
    threads = []
    if signed.get(0):
        threads.append(threading.Thread(target=importer, args=(lead, ris, report)))
    # Reviewer i owns the same records in every step: what it believes of them is true.
    per = owned_per
    for n, (belief, browser) in enumerate(zip(beliefs, browsers, strict=True), start=1):
        if not signed.get(n):
            continue
        owned = list(range(belief.index * per + 1, belief.index * per + per + 1))
        rng = random.Random(seed * 1000 + belief.index)
        threads.append(
            threading.Thread(
                target=reviewer, args=(browser, belief, owned, words, deadline, think, rng)
            )
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 960)
    report["cpu"] = CpuMeter.delta(before, meter.snapshot())
    return report


def summarize(samples: list[tuple[str, int, float]]) -> dict[str, dict[str, Any]]:
    by: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for endpoint, status, seconds in samples:
        by[endpoint].append((status, seconds))
    out = {}
    for endpoint, rows in sorted(by.items()):
        times = sorted(s for _, s in rows)
        statuses = Counter(status for status, _ in rows)
        out[endpoint] = {
            "n": len(rows),
            "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
            "max": times[-1],
            "500s": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
            "503s": statuses.get(503, 0),
            "failed": statuses.get(0, 0),
            "statuses": dict(sorted(statuses.items())),
        }
    return out


def table(summary: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| endpoint | requests | p50 ms | p95 ms | max ms | 500s | 503s | no answer | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for endpoint, s in summary.items():
        statuses = ", ".join(f"{k}: {v}" for k, v in s["statuses"].items())
        lines.append(
            f"| {endpoint} | {s['n']} | {s['p50'] * 1000:.0f} | {s['p95'] * 1000:.0f} | "
            f"{s['max'] * 1000:.0f} | {s['500s']} | {s['503s']} | {s['failed']} | {statuses} |"
        )
    return lines


def signed_in(report: dict[str, Any]) -> str:
    missing = report["not_signed_in"]
    text = f"everyone signed in at once before the clock started: {report['sign_in_seconds']} s"
    return text + (f" ({len(missing)} could not: {', '.join(missing[:5])})" if missing else "")


def cpu_line(cpu: dict[str, float]) -> str:
    wall = cpu.pop("wall")
    parts = ", ".join(f"{k} {v} s" for k, v in cpu.items())
    return f"CPU over {wall:.0f} s of wall time: {parts}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_answers(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/signin", timeout=5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{url} did not start") from None
            time.sleep(0.2)


# ---------------------------------------------------------------- the two set-ups


def bench_team(args: argparse.Namespace) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="litreview-load-"))
    database = f"litreview_load_{secrets.token_hex(3)}"
    script = [sys.executable, str(ROOT / "deploy" / "team_server.py")]
    child = {**os.environ, "PYTHONPATH": str(ROOT)}
    ports = f"{_free_port()},{_free_port()}"
    say(f"starting the team server in {root} (database {database})")
    done = subprocess.run(
        [*script, "start", "--dir", str(root), "--database", database, "--ports", ports]
        + ["--workers", str(args.workers), "--threads", str(args.threads)],
        env=child,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    team = json.loads(done.stdout)
    try:
        env = {
            **child,
            "LITREVIEW_DATABASE_URL": team["database_url"],
            "LITREVIEW_DATA_DIR": str(root / "setup"),
            "LITREVIEW_ATTACHMENTS_DIR": team["attachments_dir"],
        }
        say(f"preparing: {args.reviewers} reviewers, {args.records} records")
        words = prepare(env, args.reviewers, args.records)
        beliefs = [Belief(e, n) for n, e in enumerate(reviewer_emails(args.reviewers))]
        stats = Stats(budget=args.max_requests)
        meter = CpuMeter({p["name"]: p["pid"] for p in team["processes"]}, database)
        say(f"load: {args.reviewers} reviewers on {', '.join(team['urls'])}, {args.duration} s")
        imported = run_load(
            team["urls"],
            beliefs,
            words,
            args.duration,
            args.think,
            import_file(args.import_size, seed=2),
            stats,
            seed=1,
            meter=meter,
            owned_per=TAG_POOL // args.reviewers,
        )
        cpu = imported["cpu"]
        say("checking the database against what the reviewers saw")
        checked = verify(team["database_url"], beliefs)
    finally:
        subprocess.run([*script, "stop", "--dir", str(root), "--clean"], env=child, check=False)
        shutil.rmtree(root, ignore_errors=True)
    summary = summarize(stats.samples)
    lines = [
        f"### Team: 2 app servers (gunicorn, {args.workers} workers x {args.threads} threads "
        f"each), PostgreSQL, worker: {'yes' if team['worker'] else 'no (not on this branch)'}",
        "",
        f"{args.reviewers} reviewers for {args.duration} s, think time {args.think} s, "
        f"library of {args.records} records; import of {args.import_size} records: "
        f"{imported.get('state')} in {imported.get('seconds')} s; "
        f"{signed_in(imported)}; {len(stats.samples)} requests, "
        f"{checked['records']} records at the end.",
        "",
        *table(summary),
        "",
        cpu_line(cpu),
        "",
        f"Checked against the database: {checked['checked']}; problems: {len(checked['problems'])}",
    ]
    lines += [f"- {p}" for p in checked["problems"][:20]]
    return lines


def bench_sqlite(args: argparse.Namespace) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="litreview-load-sqlite-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITREVIEW_DATA_DIR": str(root / "data")}
    for key in ("LITREVIEW_DATABASE_URL", "LITREVIEW_SEARCH", "LITREVIEW_ATTACHMENTS_DIR"):
        env.pop(key, None)
    env["LITREVIEW_DATABASE_URL"] = f"sqlite:///{root / 'data' / 'litreview.sqlite3'}"
    ramp = [int(n) for n in args.ramp.split(",")]
    cli = [sys.executable, "-m", "litreview.cli.main"]
    subprocess.run([*cli, "init"], env=env, check=True, stdout=2)
    say(f"preparing: {ramp[0]} reviewers, {args.records} records")
    words = prepare(env, ramp[0], args.records)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "serve.log").open("wb")
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    lines = [
        "### Embedded default: `litreview serve` (waitress), SQLite, tantivy",
        "",
        f"Each step: that many reviewers for {args.step} s, think time {args.think} s, and an "
        f"import of {args.import_size} records; library of {args.records} records at the "
        f"start. Holds: no 500, no lost write, p95 of every reviewer endpoint under "
        f"{args.p95_bound:.1f} s.",
        "",
    ]
    beliefs: list[Belief] = []
    steps = []
    try:
        _wait_answers(url, server)
        meter = CpuMeter({"litreview serve": server.pid}, None)
        for n, count in enumerate(ramp, start=1):
            emails = reviewer_emails(count)
            add_reviewers(env, emails)
            beliefs += [Belief(e, i) for i, e in enumerate(emails) if i >= len(beliefs)]
            stats = Stats(budget=args.max_requests)
            say(f"step {n}: {count} reviewers for {args.step} s")
            imported = run_load(
                [url],
                beliefs[:count],
                words,
                args.step,
                args.think,
                import_file(args.import_size, seed=10 + n),
                stats,
                seed=10 + n,
                meter=meter,
                owned_per=TAG_POOL // max(ramp),
            )
            cpu = imported["cpu"]
            checked = verify(env["LITREVIEW_DATABASE_URL"], beliefs[:count])
            summary = summarize(stats.samples)
            worst = max(
                s["p95"]
                for e, s in summary.items()
                if e in ("screen_next", "decide", "tag", "search")
            )
            errors = sum(s["500s"] for s in summary.values())
            holds = errors == 0 and not checked["problems"] and worst <= args.p95_bound
            steps.append((count, holds, worst, errors))
            lines += [
                f"#### {count} reviewers: {'holds' if holds else 'does NOT hold'} "
                f"(worst p95 {worst * 1000:.0f} ms, {errors} 500s, "
                f"{sum(s['503s'] for s in summary.values())} 503s)",
                "",
                f"Import: {imported.get('state')} in {imported.get('seconds')} s; "
                f"{signed_in(imported)}; "
                f"{len(stats.samples)} requests; {checked['records']} records after.",
                "",
                *table(summary),
                "",
                cpu_line(cpu),
                "",
                f"Checked against the database: {checked['checked']}; "
                f"problems: {len(checked['problems'])}",
            ]
            lines += [f"- {p}" for p in checked["problems"][:20]]
            lines.append("")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    held = [count for count, holds, _, _ in steps if holds]
    lines.append(f"Holds up to: {max(held) if held else 'none'} of {ramp} reviewers.")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["team", "sqlite"])
    parser.add_argument("--reviewers", type=int, default=20, help="team: reviewers")
    parser.add_argument("--duration", type=float, default=120, help="team: seconds of load")
    parser.add_argument("--ramp", default="5,10,20,40", help="sqlite: reviewers per step")
    parser.add_argument("--step", type=float, default=30, help="sqlite: seconds per step")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between actions")
    parser.add_argument("--records", type=int, default=2000, help="library size at the start")
    parser.add_argument("--import-size", type=int, default=2000, help="records in the import")
    parser.add_argument("--workers", type=int, default=2, help="team: gunicorn workers per app")
    parser.add_argument("--threads", type=int, default=4, help="team: threads per worker")
    parser.add_argument("--max-requests", type=int, default=50_000, help="stop after this many")
    parser.add_argument("--p95-bound", type=float, default=1.0, help="sqlite: seconds")
    parser.add_argument("--keep", action="store_true", help="sqlite: keep the data folder")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    lines = {"team": bench_team, "sqlite": bench_sqlite}[args.target](args)
    head = [
        f"## bench_load.py {args.target}: {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}. Command: "
        f"`bench/bench_load.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        "",
    ]
    print("\n".join(head + lines))


if __name__ == "__main__":
    main()
