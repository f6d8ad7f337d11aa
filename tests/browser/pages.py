"""What every browser test does with a page: open one at 1400 px, sign in through the
form, take a screenshot to look at."""

from __future__ import annotations

from tests.webapp import PASSWORD

TIMEOUT = 15_000
WIDTH = 1400


def new_page(browser, dialogs, **options):
    """A fresh context and page, WIDTH px wide; dialogs are recorded and dismissed."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, **options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return context, page


def sign_in(page, live_site, email, password=PASSWORD, lands="/"):
    page.goto(f"{live_site.url}/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_site.url}{lands}")


def shoot(page, tmp_path, name):
    assert page.viewport_size["width"] == WIDTH
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
