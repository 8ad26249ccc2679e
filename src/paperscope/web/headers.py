"""Security headers on every response of the web app, set by one ASGI middleware (`SecurityHeaders`).

* `Content-Security-Policy`: scripts, styles, images, fonts and fetches only from this server, no inline
  script or style, no plugins, no `<base>`, forms post only here and no site may frame a page
  (`frame-ancestors 'none'`). The pages keep to it: their scripts are files under /static, math is MathML
  rendered on the server. Three kinds of page get a wider policy, each only as wide as the browser tests
  measured it must be (tests/e2e): the Swagger UI page at /docs, whose one inline script is allowed by its
  hash, and the topic pages, where plotly.js adds the style rules of its plot to a `<style>` element
  (`style-src-elem 'unsafe-inline'`: style elements only, no style attributes, and scripts stay strict; the
  WebGL scatter plotly draws for large maps needs no `'unsafe-eval'`). The unsubscribe page, styled like the
  digest e-mails with style attributes, may use those (`style-src-attr 'unsafe-inline'`), nothing else.
* `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` (links to paper sources send no
  referrer) and `X-Frame-Options: DENY` for browsers without `frame-ancestors`.
* `Cache-Control: no-store` on pages that show secrets (/me, where a new API token is shown once, and the
  private feed, whose address is the secret) and on every other answer to a signed-in request, unless the
  route set its own. Static files and anonymous pages keep their caching.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# plotly.js writes its plot's style rules into a <style> element it adds; style attributes stay refused.
INLINE_STYLES = {"style_src_elem": "'self' 'unsafe-inline'"}
# The unsubscribe page is the digest e-mail's template style: style attributes, no style sheet.
STYLE_ATTRIBUTES = {"style_src_attr": "'unsafe-inline'"}
SECRET_PATHS = ("/me/", "/feeds/users/")  # and /me: pages whose content or address is a secret
STATIC_PATHS = ("/static/",)
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def policy(**changes: str) -> str:
    """The Content-Security-Policy header value: `BASE_POLICY` with `changes` (directive names with `_` for
    `-`) replacing its directives."""
    directives = {**BASE_POLICY, **{name.replace("_", "-"): value for name, value in changes.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions ('sha256-...') of the inline scripts of a fixed page, such as the API docs."""
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.DOTALL | re.IGNORECASE)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts]


def is_secret_path(path: str) -> bool:
    return path == "/me" or path.startswith(SECRET_PATHS)


class SecurityHeaders:
    """ASGI middleware: the module's headers on every HTTP response. `policies` maps a path pattern (a regular
    expression matched against the whole path) to the Content-Security-Policy of the pages it matches; other
    pages get `policy()`. Must run inside the session middleware, which tells it who is signed in."""

    def __init__(self, app: ASGIApp, policies: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self.app = app
        pairs = policies.items() if isinstance(policies, Mapping) else policies
        self.policies = [(re.compile(pattern), value) for pattern, value in pairs]
        self.default = policy()

    def csp_for(self, path: str) -> str:
        return next((value for pattern, value in self.policies if pattern.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        secret = is_secret_path(path)
        signed_in = not path.startswith(STATIC_PATHS) and _signed_in(scope)
        csp = self.csp_for(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", csp)
                for name, value in FIXED_HEADERS.items():
                    headers.setdefault(name, value)
                if secret or (signed_in and "cache-control" not in headers):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _signed_in(scope: Scope) -> bool:
    """A request from a session with a sign-in, or with an API token."""
    session = scope.get("session")
    if isinstance(session, dict) and "sid" in session:
        return True
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))
