"""Digest subscriptions as pages: the unsubscribe link of every digest e-mail, and stopping digests from /me.

* `GET /unsubscribe?token=` shows a confirmation page with one button (a GET never changes anything, so a
  mail scanner that follows links does not unsubscribe anybody);
* `POST /unsubscribe?token=` unsubscribes: the button, and the one-click `List-Unsubscribe-Post` request
  mail programs send (RFC 8058);
* `POST /me/digests/stop` unsubscribes the signed-in user (the account page's button; what an expired or
  unverifiable link's page points to).

Tokens are verified with the key that signs sessions (`services.settings.secret_key`) and expire after
PAPERSCOPE_UNSUBSCRIBE_LINK_DAYS. Needs the digest extra (its templates render these pages); the app leaves
this router out without it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.digest.compose import templates
from paperscope.digest.tokens import read_unsubscribe_token
from paperscope.errors import ExpiredLink
from paperscope.web.deps import CsrfChecked, RequiredUser, ServicesDep
from paperscope.web.services import Services

router = APIRouter(tags=["digests"])
TITLES = {"confirm": "Unsubscribe from paperscope digests", "done": "You are unsubscribed",
          "invalid": "This link is not valid", "expired": "This unsubscribe link has expired"}
UNSUBSCRIBE_PATH = "/unsubscribe"


def _page(services: Services, state: str, *, email: str = "", token: str = "", status: int = 200) -> HTMLResponse:
    # The form posts to this fixed path with the token it was given (a verified one), never to the request's URL.
    action = f"{UNSUBSCRIBE_PATH}?{urlencode({'token': token})}"
    html = templates().get_template("unsubscribe.html.j2").render(
        title=TITLES[state], state=state, email=email, action=action,
        link_days=services.settings.unsubscribe_link_days)
    return HTMLResponse(html, status_code=status)


def _checked(services: Services, token: str) -> tuple[int, str] | str:
    """(user id, address) of a valid unsubscribe token whose user still has that address; else the page
    state to show ("invalid" or "expired")."""
    settings = services.settings
    try:
        found = read_unsubscribe_token(settings.secret_key, token,
                                       lifetime=dt.timedelta(days=settings.unsubscribe_link_days))
    except ExpiredLink:
        return "expired"
    if found is None:
        return "invalid"
    user = services.store.accounts.get_user(found[0])
    return found if user is not None and user.email == found[1] else "invalid"


def _refused(services: Services, state: str) -> HTMLResponse:
    return _page(services, state, status=410 if state == "expired" else 400)


@router.get(UNSUBSCRIBE_PATH, response_class=HTMLResponse, summary="Confirm unsubscribing from digests")
def unsubscribe_page(services: ServicesDep, token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    found = _checked(services, token)
    if isinstance(found, str):
        return _refused(services, found)
    return _page(services, "confirm", email=found[1], token=token)


@router.post(UNSUBSCRIBE_PATH, response_class=HTMLResponse, summary="Unsubscribe (button or RFC 8058 one-click)")
async def unsubscribe(request: Request, services: ServicesDep,
                      token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    found = _checked(services, token)
    if isinstance(found, str):
        return _refused(services, found)
    body = (await request.body())[:200]
    source = "one-click" if b"List-Unsubscribe=One-Click" in body else "link"
    services.store.digests.unsubscribe(found[0], source=source)
    return _page(services, "done", email=found[1])


@router.post("/me/digests/stop", dependencies=[CsrfChecked], summary="Stop your digests")
def stop_my_digests(services: ServicesDep, user: RequiredUser) -> Response:
    services.store.digests.unsubscribe(user.id, source="web")
    return RedirectResponse("/me#digests", status_code=303)
