"""Response headers and session cookies that keep other people's data safe.

Secure session cookies (LITREVIEW_SECURE_COOKIES, or the app setting of that name):

* ``1`` / ``true`` / ``on``: always Secure: the browser sends the session only over HTTPS.
  Set this on a team server behind a TLS proxy.
* ``0`` / ``false`` / ``off``: never Secure: only for a server reached over plain HTTP on
  a trusted network (the browser would otherwise refuse the cookie and nobody could
  sign in).
* unset or ``auto`` (the default): Secure, except when the app runs in testing or debug
  mode, or when the request came over plain HTTP to a loopback name (``127.0.0.1``,
  ``localhost``, ``::1``) without ``X-Forwarded-Proto: https``: a browser on this very
  machine, as with ``make run``. A proxy that rewrites Host to 127.0.0.1 and sends no
  X-Forwarded-Proto looks like that too, which is why a team server should say ``1``.

The decision is made per response, so one app serves both a local browser and a
proxied HTTPS one correctly. Trusting X-Forwarded-Proto here is harmless: a forged
header can only make the cookie stricter.

Behind proxies (LITREVIEW_TRUSTED_PROXIES, or the app setting of that name): the number
of proxies in front of the app that set X-Forwarded-For and X-Forwarded-Proto, 0 by
default. Behind one TLS proxy say ``1``: the client's address is then the last one the
proxy added to X-Forwarded-For (what the per-address sign-in limit counts; without it
every client would share the proxy's address, and one person's typos would lock out the
whole team) and the scheme is the proxy's. Left at 0 the headers are ignored, as they
must be when clients reach the app directly: anyone can send an X-Forwarded-For.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# No inline scripts or styles anywhere: everything the pages run is in static files, so
# markup that slipped into imported text could not run even if a template forgot to escape.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)


def secure_cookie_mode(value: Any) -> str:
    """ "on", "off" or "auto" from a setting's value (bool, or text as in the environment)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value or "auto").strip().lower()
    if text in _TRUE:
        return "on"
    if text in _FALSE:
        return "off"
    if text == "auto":
        return "auto"
    raise ValueError(f"LITREVIEW_SECURE_COOKIES={value!r}: use 1, 0 or auto")


def _host_name(host: str) -> str:
    if host.startswith("["):  # [::1]:5000
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def local_plain_http() -> bool:
    """Whether this request is plain HTTP from a browser on this machine."""
    if request.is_secure:
        return False
    if request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https":
        return False
    return _host_name(request.host.lower()) in LOOPBACK_HOSTS


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag decided per response."""

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        mode = app.config["LITREVIEW_SECURE_COOKIES"]
        if mode == "on":
            return True
        if mode == "off" or app.testing or app.debug:
            return False
        return not local_plain_http()


def cookies_will_be_refused(app: Flask) -> bool:
    """True when this request is plain HTTP but the session cookie would be Secure.

    The sign-in page says so, instead of leaving a person signing in again and again.
    """
    return not request.is_secure and bool(app.session_interface.get_cookie_secure(app))


def set_headers(response: Response) -> Response:
    """The security headers every response carries."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        # Pages show a review's private data: never kept in shared caches, nor shown
        # again from the browser's cache after signing out.
        headers.setdefault("Cache-Control", "no-store")
    return response


def trusted_proxies(value: Any) -> int:
    """How many proxies' forwarded headers to trust, from a setting's value."""
    text = str(value if value is not None else 0).strip() or "0"
    if not text.isdigit():
        raise ValueError(f"LITREVIEW_TRUSTED_PROXIES={value!r}: a number of proxies, 0 for none")
    return int(text)


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "LITREVIEW_TRUSTED_PROXIES", os.environ.get("LITREVIEW_TRUSTED_PROXIES", "0")
    )
    proxies = trusted_proxies(app.config["LITREVIEW_TRUSTED_PROXIES"])
    app.config["LITREVIEW_TRUSTED_PROXIES"] = proxies
    if proxies:
        # Werkzeug's own middleware: takes the client's address and the scheme from the
        # last ``proxies`` entries of X-Forwarded-For / -Proto, ignoring any earlier ones
        # (which the client itself may have written).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.config.setdefault(
        "LITREVIEW_SECURE_COOKIES", os.environ.get("LITREVIEW_SECURE_COOKIES", "auto")
    )
    app.config["LITREVIEW_SECURE_COOKIES"] = secure_cookie_mode(
        app.config["LITREVIEW_SECURE_COOKIES"]
    )
    app.session_interface = SessionInterface()
    app.after_request(set_headers)
