"""Text no database can store (NUL, unpaired surrogates) is cleaned where it comes in:
the entries of every reader, and every form and query string of the web app. The same
file lands the same on SQLite and PostgreSQL; no form answers 500 to ``%00``."""

from __future__ import annotations

import io
import json
import socket
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.accounts import invites
from litreview.db import Base
from litreview.ingest.record_data import Author, EntryError, RecordData
from litreview.ingest.text_clean import storable, storable_items
from litreview.jobs import list_jobs, store
from litreview.jobs.work import files_progress, incoming_dir
from litreview.library import duplicates, reviews
from litreview.models import Record, RecordSource
from tests.pdfmaker import text_pdf
from tests.test_jobs import dead_pid, running_job
from tests.test_web_access import populate, routes, url_for_rule
from tests.webapp import Client, Site, make_site

CSL = [
    {
        "id": "a1",
        "type": "article-journal",
        "title": "Good one",
        "issued": {"date-parts": [[2020]]},
    },
    {
        "id": "a2",
        "type": "article-journal",
        "title": "Bad\u0000title",
        "abstract": "Before\u0000after",
        "author": [{"family": "Sm\u0000ith", "given": "Ann"}],
        "issued": {"date-parts": [[2021]]},
    },
    {"id": "a3", "type": "article-journal", "title": "Half \ud800 a pair"},
    {
        "id": "a4",
        "type": "article-journal",
        "title": "Fourth good",
        "issued": {"date-parts": [[2022]]},
    },
]


def csl_file(tmp_path: Path) -> Path:
    # One item a line, as json.dumps escapes them: \u0000 and \ud800 stay escapes in the file.
    path = tmp_path / "nul.json"
    path.write_text("[\n" + ",\n".join(json.dumps(item) for item in CSL) + "\n]\n")
    return path


def ris_file(tmp_path: Path) -> Path:
    """A RIS export with a NUL byte in the title and abstract of its second record."""
    path = tmp_path / "nul.ris"
    path.write_bytes(
        b"TY  - JOUR\nID  - r1\nTI  - First fine\nPY  - 2020\nER  - \n\n"
        b"TY  - JOUR\nID  - r2\nTI  - Has a \x00NUL\nAB  - abs\x00tract\nPY  - 2021\nER  - \n\n"
        b"TY  - JOUR\nID  - r3\nTI  - Third fine\nPY  - 2022\nER  - \n"
    )
    return path


def test_storable_removes_nul_and_replaces_unpaired_surrogates():
    assert storable("a\x00b\x00") == "ab"
    assert storable("half \ud800 pair") == "half \ufffd pair"
    text = "plain text, accents é and emoji \U0001f600"
    assert storable(text) is text
    data = RecordData(
        title="T\x00", authors=[Author("A\x00", None)], keywords=["k\x00"], raw="TI  - T\x00"
    )
    warnings: list[dict[str, Any]] = []
    bad = EntryError(3, "e\x00", "no title in e\x00")
    out = list(storable_items([data, bad], warnings))
    assert out[0].title == "T" and out[0].authors == [Author("A")] and out[0].keywords == ["k"]
    assert out[0].raw == "TI  - T"
    assert out[1] == EntryError(3, "e", "no title in e")
    assert warnings == [
        {
            "line": None,
            "entry": None,
            "message": "NUL characters removed in title, authors, keywords; imported without them",
        }
    ]


def test_a_nul_in_one_entry_loses_nothing_and_lands_the_same_everywhere(review_cli, tmp_path, env):
    """CSL-JSON and RIS with NUL (and an unpaired surrogate) in one entry each: every good
    entry lands, the cleaned ones too, each noted with file, line and entry."""
    csl, rs = csl_file(tmp_path), ris_file(tmp_path)
    out = review_cli.json("import", "ai-sw", str(csl), str(rs))
    by_file = {Path(f["file"]).name: f for f in out["files"]}
    assert [by_file[n]["imported"] for n in ("nul.json", "nul.ris")] == [4, 3]
    assert all(f["errors"] == [] for f in out["files"])
    assert by_file["nul.json"]["warnings"] == [
        {
            "line": 3,
            "entry": "a2",
            "message": "NUL characters removed in title, authors, abstract; imported without them",
        },
        {
            "line": 4,
            "entry": "a3",
            "message": "unpaired surrogates replaced by U+FFFD in title; imported without them",
        },
    ]
    assert by_file["nul.ris"]["warnings"] == [
        {
            "line": 7,
            "entry": "r2",
            "message": "NUL characters removed in title, abstract; imported without them",
        }
    ]
    engine = sa.create_engine(env["LITREVIEW_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Record.title, Record.abstract, Record.authors).order_by(Record.title)
        ).all()
        sources = connection.execute(sa.select(RecordSource.raw, RecordSource.data)).all()
    engine.dispose()
    # The same on SQLite and PostgreSQL (this test runs on both).
    assert [tuple(r) for r in rows] == [
        ("Badtitle", "Beforeafter", [{"family": "Smith", "given": "Ann"}]),
        ("First fine", None, []),
        ("Fourth good", None, []),
        ("Good one", None, []),
        ("Half \ufffd a pair", None, []),
        ("Has a NUL", "abstract", []),
        ("Third fine", None, []),
    ]
    assert all("\x00" not in raw and "\x00" not in json.dumps(data) for raw, data in sources)
    # The CSL-JSON entry as read keeps the file's escape: the text \u0000, not a NUL.
    assert any('"Bad\\u0000title"' in raw for raw, _ in sources)
    # The same files again add nothing, and the text output names file, line and entry.
    again = review_cli("import", "ai-sw", str(csl), str(rs)).output
    assert "nul.json (csljson): read 4, imported 0, merged 0 duplicates, 4 unchanged" in again
    assert "2 entries cleaned" in again
    assert (
        f"{rs}: line 7, entry r2: warning: NUL characters removed in title, abstract; "
        "imported without them" in again
    )


@pytest.fixture
def site(env, database_url, monkeypatch):
    # A Zotero form must never reach the internet: its API is a closed port here.
    monkeypatch.setenv("LITREVIEW_ZOTERO_API_URL", "http://127.0.0.1:9")
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        yield site


def test_the_web_import_notes_the_cleaned_entry(site, tmp_path):
    lead = site.client("lead@example.org")
    response = lead.post(
        "/r/ai-sw/import",
        {"files": (io.BytesIO(ris_file(tmp_path).read_bytes()), "scopus.ris")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    status = site.wait_for_import(lead, response.location)
    assert [f["state"] for f in status["files"]] == ["done"]
    page = lead.page(response.location)
    assert '<td>scopus.ris</td>\n  <td class="state">done</td>\n  \n  <td>3</td><td>3</td>' in page
    assert (
        "scopus.ris: line 7, entry r2: NUL characters removed in title, abstract; "
        "imported without them" in page
    )


# ---------------------------------------------------------------- every form, with %00


class Forms(HTMLParser):
    """The forms of a page: method, action, enctype and the fields a browser would send
    (the first choice of a select or a set of radio buttons, the first submit button)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "method": a.get("method", "get").upper(),
                    "action": a.get("action", ""),
                    "multipart": a.get("enctype") == "multipart/form-data",
                    "fields": {},
                    "files": [],
                    "button": None,
                }
            )
            return
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "option" and self.select is not None:
            form["fields"].setdefault(self.select, a.get("value", ""))
        if "name" not in a:
            return
        kind = a.get("type", "text")
        if tag == "input" and kind == "file":
            form["files"].append(a["name"])
        elif tag == "input" and kind != "submit":
            form["fields"].setdefault(a["name"], a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "button" and form["button"] is None:
            form["button"] = (a["name"], a.get("value", ""))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "textarea":
            form["fields"].setdefault(a["name"], "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None


def _forms(html: str) -> list[dict[str, Any]]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def _with_nul(value: str) -> str:
    return f"{value}\x00" if value else "x\x00y"


def _submit(client: Client, form: dict[str, Any], page_url: str, tmp_path: Path):
    data: dict[str, Any] = {}
    for name, value in form["fields"].items():
        data[name] = value if name == "csrf_token" else _with_nul(value)
    if form["button"]:
        name, value = form["button"]
        data[name] = _with_nul(value)
    action = form["action"] or page_url
    if form["method"] == "GET":
        return client.get(action, query_string=data)
    for name in form["files"]:
        if "pdf" in name:
            payload = (io.BytesIO(text_pdf(["a page with\x00a NUL"])), "paper\x00.pdf")
        else:
            payload = (io.BytesIO(ris_file(tmp_path).read_bytes()), "searches\x00.ris")
        data[name] = payload
    kwargs = {"content_type": "multipart/form-data"} if form["multipart"] else {}
    return client.post(action, data, csrf=False, **kwargs)


def _setup_every_form(site: Site, lead: Client, tmp_path: Path) -> dict[str, Any]:
    """Data enough for every form to show: a conflict, probable duplicates and a pair kept
    apart, a record sought at full text, a pending record."""
    values = populate(site, site.review, lead, tmp_path)
    session, review = site.session, site.review
    reviews.update_settings(session, review, actor="setup", screening_mode="dual")
    rita, lead_user = site.users["rita@example.org"], site.users["lead@example.org"]
    [conflict] = site.add_records(1, title="Risk assessment tools in child protection")
    [sought] = site.add_records(1, title="Chatbots in youth work")
    site.add_records(2, title="Predictive analytics for social work caseloads")
    apart = site.add_records(2, title="Machine learning in adult social care")
    for who, decision in ((rita, "include"), (lead_user, "exclude")):
        screening.decide(session, review, conflict, who, "title_abstract", decision)
    for who in (rita, lead_user):
        screening.decide(session, review, sought, who, "title_abstract", "include")
    duplicates.keep_apart(session, review, *apart, "setup")
    session.commit()
    values["more_records"] = [conflict, sought]
    return values


def _stopped_import(site: Site) -> str:
    """The page of an in-process import whose server stopped mid-way (its worker, a process
    of this machine, is gone), with its uploaded file kept."""
    job_id = store.new_job_id()
    saved = incoming_dir(site.app.config["LITREVIEW_SETTINGS"]) / job_id / "1" / "kept.ris"
    saved.parent.mkdir(parents=True)
    saved.write_text("TY  - JOUR\nTI  - Kept through a restart\nER  - \n", encoding="utf-8")
    uploads = [{"path": "1/kept.ris", "name": "kept.ris", "size": saved.stat().st_size}]
    worker = f"{socket.gethostname()}:{dead_pid()}"
    progress = files_progress(uploads, None)
    running_job(site, worker, job_id, payload={"uploads": uploads}, progress=progress)
    return f"/r/ai-sw/import/jobs/{job_id}"


def test_nul_in_every_form_of_the_app_never_gives_a_500(site, tmp_path):
    admin = site.add_user("ada@example.org")
    admin.is_admin = True
    site.session.commit()
    lead = site.client("lead@example.org")
    values = _setup_every_form(site, lead, tmp_path)
    ada = site.client("ada@example.org")
    anonymous = site.client()
    pages: list[tuple[Client, str]] = [(anonymous, "/signin"), (ada, "/reviews/new")]
    for rule, method in routes(site.app):
        if method == "GET" and rule.endpoint not in ("static", "auth.signin", "home.new_review"):
            pages.append((lead, url_for_rule(rule, values, {})))
    pages += [(lead, f"/r/ai-sw/records/{r}") for r in values["more_records"]]
    # The full-text screening page of the record sought at full text (its "Mark not
    # retrievable" form).
    pages.append((lead, f"/r/ai-sw/screen/full_text/{values['more_records'][1]}"))
    # The bulk decision's confirmation, as the records table's bulk form leads to it.
    pages.append((lead, "/r/ai-sw/records/bulk/confirm?scope=all&decision=exclude"))
    # An import its server's restart stopped, its file kept: its page offers "Run again".
    pages.append((lead, _stopped_import(site)))
    # The admin's accounts page, and one-time links: joining (signed out, and signed in
    # as someone not yet a member) and a password reset.
    joining = invites.invite(site.session, site.review, "reviewer", by=admin)
    second = invites.invite(site.session, site.review, "viewer", by=admin)
    reset = invites.reset_link(site.session, site.users["rita@example.org"], by=admin)
    site.session.commit()
    pages += [
        (ada, "/admin/accounts"),
        (anonymous, invites.link_path(invites.INVITE, joining.token)),
        (ada, invites.link_path(invites.INVITE, second.token)),
        (anonymous, invites.link_path(invites.RESET, reset.token)),
    ]
    found: list[tuple[Client, str, dict[str, Any]]] = []
    for client, url in pages:
        with client.get(url) as response:
            assert response.status_code < 500, url
            if response.mimetype == "text/html":
                found += [(client, url, form) for form in _forms(response.get_data(as_text=True))]
    posted = {(f["method"], f["action"].split("?")[0]) for _, _, f in found}
    endpoints = set()
    adapter = site.app.url_map.bind("localhost")
    for method, action in posted:
        if action:
            endpoint, _ = adapter.match(action, method=method)
            endpoints.add(f"{method} {endpoint}")
    every_post = {f"POST {rule.endpoint}" for rule, method in routes(site.app) if method == "POST"}
    assert every_post <= endpoints, f"forms never shown: {sorted(every_post - endpoints)}"
    problems = []
    # Signing out last: it ends the session the other forms need.
    found.sort(key=lambda c_u_f: c_u_f[2]["action"] == "/signout")
    for client, url, form in found:
        response = _submit(client, form, url, tmp_path)
        if response.status_code >= 500:
            problems.append(f"{form['method']} {form['action'] or url}: {response.status_code}")
    assert not problems, "\n".join(problems)
    # The imports those forms started (a NUL in the file's name and in an entry) ended well.
    site.app.extensions["litreview.jobs"].wait_all(60)
    site.session.expire_all()
    jobs = list_jobs(site.session, site.review)
    assert len(jobs) >= 2  # populate's, and the import form's
    for status in jobs:
        assert all(f["state"] == "done" for f in status.get("files", [])), status
    # The public sign-in form, and a NUL in a URL's path (everyone signed out above, and
    # members may have been removed: Ada is an admin).
    lead = site.client("ada@example.org")
    guest = site.client()
    guest.refresh_token()
    for email, password in (("rita@example.org\x00", "x\x00"), ("\x00", "\x00"), ("a@b.c", "\x00")):
        answer = guest.post("/signin", {"email": email, "password": password})
        assert answer.status_code in (400, 401), answer.status_code
    for path in ("/r/ai\x00sw/", "/r/ai-sw/records/1%00", "/static/style.css%00", "/r/%00/"):
        assert lead.get(path).status_code == 404, path
    assert lead.get("/r/ai-sw/search", query_string={"q": "\x00"}).status_code < 500
    assert (
        lead.get("/r/ai-sw/records", query_string={"q": "consent\x00", "sort": "\x00"}).status_code
        == 200
    )
    _assert_no_nul_stored(site)


def _assert_no_nul_stored(site: Site) -> None:
    """No text of any table holds a NUL, nor JSON its escape: PostgreSQL refuses both (so
    there is nothing to look for there); SQLite would have stored them."""
    session = site.session
    session.expire_all()
    if session.get_bind().dialect.name != "sqlite":
        return
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String | sa.Text | sa.JSON):
                holds = sa.func.instr(sa.cast(column, sa.Text), "\x00") > 0
                escaped = sa.func.instr(sa.cast(column, sa.Text), "\\u0000") > 0
                count = session.scalar(
                    sa.select(sa.func.count()).select_from(table).where(holds | escaped)
                )
                assert count == 0, f"{table.name}.{column.name} holds a NUL"
