"""The text of a PDF, page by page, with pypdfium2; bounded in time, memory and size.

pypdfium2 (Apache-2.0/BSD) was chosen on measured speed and quality: about 2 ms of CPU
per page, ligatures expanded, two columns kept in reading order. It marks a hyphen that
splits a word at a line end with a special character (``\\x02`` in older PDFium builds,
U+FFFE in newer ones); we join the word again and normalise to NFKC.

Extraction runs in a child process with a memory limit (RLIMIT_AS) and a wall-clock
timeout, so a PDF bomb, a damaged file that sends PDFium into a loop, or a crash in
native code ends that child, never the caller. A damaged, encrypted, empty or
image-only PDF is not an error: it comes back as :class:`PdfText` with a ``status``
a person can read (``no text: scanned image?``) and no pages.

This module knows nothing of the database; it is also the child's entry point
(``python -I pdf.py FILE``) and so imports only the standard library and pypdfium2.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MAX_PAGES = 2000
MAX_PAGE_CHARS = 100_000
MAX_TOTAL_CHARS = 20_000_000
TIMEOUT_S = 120.0
MEMORY_MB = 1536

STATUS_OK = "ok"
STATUS_NO_TEXT_IMAGE = "no text: scanned image?"
STATUS_NO_TEXT_BLANK = "no text: the pages are blank"
STATUS_NO_PAGES = "no text: the PDF has no pages"
STATUS_ENCRYPTED = "encrypted: needs a password"
STATUS_DAMAGED = "damaged: not a readable PDF"
STATUS_TIMEOUT = "too big: extraction took too long"
STATUS_MEMORY = "too big: extraction ran out of memory"

# PDFium's marker for a hyphen that splits a word at a line end, with the line break
# that may follow it: the word is joined again.
_SOFT_HYPHEN = re.compile("[\x02\ufffe][\r\n]*")
_LINE_ENDS = re.compile(r"\r\n?")


@dataclass
class PdfText:
    """What a PDF gave: the text of each page (1-based page = index + 1) and a status.

    ``status`` is ``ok``, ``ok: ...`` (text, with a note such as pages left out), or a
    reason there is no text; ``page_count`` is the PDF's own count, even when fewer
    pages were read.
    """

    status: str
    pages: list[str] = field(default_factory=list)
    page_count: int | None = None

    @property
    def has_text(self) -> bool:
        return any(p.strip() for p in self.pages)


def clean_page_text(raw: str) -> str:
    """Join words split by a line-end hyphen, unify line ends, normalise to NFKC."""
    text = _SOFT_HYPHEN.sub("", raw)
    text = _LINE_ENDS.sub("\n", text)
    # NUL and other C0 controls (but tab and newline) come from broken font maps.
    text = "".join(c for c in text if c >= " " or c in "\n\t")
    return unicodedata.normalize("NFKC", text).strip()


def _damaged(message: str) -> str:
    if "password" in message.lower():
        return STATUS_ENCRYPTED
    detail = message.split("(PDFium:", 1)[-1].rstrip(").").strip() if "PDFium" in message else ""
    return f"{STATUS_DAMAGED} ({detail.lower()})" if detail else STATUS_DAMAGED


def extract_in_process(
    path: str | Path,
    *,
    max_pages: int = MAX_PAGES,
    max_page_chars: int = MAX_PAGE_CHARS,
    max_total_chars: int = MAX_TOTAL_CHARS,
    deadline: float | None = None,
) -> PdfText:
    """Read the PDF here, in this process: use :func:`extract_pages` for untrusted files.

    Stops at ``max_pages`` pages, ``max_total_chars`` characters, or at ``deadline``
    (a ``time.monotonic()`` value), keeping what was read so far.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return PdfText(status=_damaged(str(exc)))
    try:
        count = len(pdf)
        if count == 0:
            return PdfText(status=STATUS_NO_PAGES, page_count=0)
        pages: list[str] = []
        images = 0
        total = 0
        note = ""
        for index in range(min(count, max_pages)):
            if deadline is not None and time.monotonic() > deadline:
                note = f"stopped after {index} of {count} pages (time limit)"
                break
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = clean_page_text(textpage.get_text_range())[:max_page_chars]
                finally:
                    textpage.close()
                if not text:
                    images += _has_image(page)
            finally:
                page.close()
            pages.append(text)
            total += len(text)
            if total >= max_total_chars:
                note = f"stopped after {index + 1} of {count} pages (too much text)"
                break
        else:
            if count > max_pages:
                note = f"first {max_pages} of {count} pages"
    except pdfium.PdfiumError as exc:
        return PdfText(status=_damaged(str(exc)), page_count=None)
    finally:
        pdf.close()
    if not any(pages):
        if "time limit" in note:
            return PdfText(status=STATUS_TIMEOUT, page_count=count)
        return PdfText(
            status=STATUS_NO_TEXT_IMAGE if images else STATUS_NO_TEXT_BLANK, page_count=count
        )
    return PdfText(status=f"ok: {note}" if note else STATUS_OK, pages=pages, page_count=count)


def _has_image(page) -> int:
    import pypdfium2.raw as raw

    return int(any(obj.type == raw.FPDF_PAGEOBJ_IMAGE for obj in page.get_objects(max_depth=2)))


def extract_pages(
    path: str | Path,
    *,
    timeout: float = TIMEOUT_S,
    memory_mb: int = MEMORY_MB,
    max_pages: int = MAX_PAGES,
) -> PdfText:
    """The text of each page of the PDF at ``path``, read in a child process.

    Never raises for what is in the file: a damaged, encrypted, empty or image-only
    PDF, one that needs more than ``memory_mb`` of memory, or one that takes longer
    than ``timeout`` seconds, gives a :class:`PdfText` whose status says so.
    Raises OSError only when ``path`` itself cannot be read.
    """
    path = Path(path)
    with path.open("rb"):
        pass  # a missing or unreadable file is the caller's error, not the PDF's
    args = json.dumps({"max_pages": max_pages, "memory_mb": memory_mb, "timeout": timeout})
    command = [sys.executable, "-I", str(Path(__file__).resolve()), str(path), args]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout + 10,  # the child stops itself at ``timeout``; this is the backstop
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("PDF extraction of %s timed out after %s s", path, timeout)
        return PdfText(status=STATUS_TIMEOUT)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace")
        log.warning("PDF extraction of %s failed (%s): %s", path, done.returncode, err[-500:])
        if "MemoryError" in err or "bad_alloc" in err or done.returncode in (-6, -9, -11):
            return PdfText(status=STATUS_MEMORY)
        return PdfText(status=STATUS_DAMAGED)
    data = json.loads(done.stdout)
    return PdfText(status=data["status"], pages=data["pages"], page_count=data["page_count"])


def _child_main(argv: list[str]) -> int:
    """The child process: limit its own memory, read the PDF, print JSON."""
    import resource

    path, options = argv[0], json.loads(argv[1])
    limit = int(options["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.monotonic()
    result = extract_in_process(
        path, max_pages=int(options["max_pages"]), deadline=started + float(options["timeout"])
    )
    out = json.dumps(
        {"status": result.status, "pages": result.pages, "page_count": result.page_count},
        ensure_ascii=False,
    )
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
