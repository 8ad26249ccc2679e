"""Digest subscriptions as pages: the unsubscribe link of every digest e-mail.

* `GET /unsubscribe?token=` shows a confirmation page with one button (a GET never changes anything, so a
  mail scanner that follows links does not unsubscribe anybody);
* `POST /unsubscribe?token=` unsubscribes: the button, and the one-click `List-Unsubscribe-Post` request
  mail programs send (RFC 8058).

Needs the digest extra (its e-mail templates render these pages); the app leaves this router out without it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from paperscope.digest.compose import templates
from paperscope.digest.tokens import read_unsubscribe_token
from paperscope.web.deps import ServicesDep
from paperscope.web.services import Services

router = APIRouter(tags=["digests"])
TITLES = {"confirm": "Unsubscribe from paperscope digests", "done": "You are unsubscribed",
          "invalid": "This link is not valid"}


def _page(state: str, email: str = "", action: str = "", status: int = 200) -> HTMLResponse:
    html = templates().get_template("unsubscribe.html.j2").render(title=TITLES[state], state=state, email=email,
                                                                  action=action)
    return HTMLResponse(html, status_code=status)


def _token_user(services: Services, token: str) -> tuple[int, str] | None:
    """(user id, address) of a valid unsubscribe token whose user still has that address."""
    found = read_unsubscribe_token(services.settings.secret_key, token)
    if found is None:
        return None
    user = services.store.accounts.get_user(found[0])
    return found if user is not None and user.email == found[1] else None


@router.get("/unsubscribe", response_class=HTMLResponse, summary="Confirm unsubscribing from digests")
def unsubscribe_page(request: Request, services: ServicesDep,
                     token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    found = _token_user(services, token)
    if found is None:
        return _page("invalid", status=400)
    return _page("confirm", email=found[1], action=str(request.url))


@router.post("/unsubscribe", response_class=HTMLResponse, summary="Unsubscribe (button or RFC 8058 one-click)")
async def unsubscribe(request: Request, services: ServicesDep,
                      token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    found = _token_user(services, token)
    if found is None:
        return _page("invalid", status=400)
    body = (await request.body())[:200]
    source = "one-click" if b"List-Unsubscribe=One-Click" in body else "link"
    services.store.digests.unsubscribe(found[0], source=source)
    return _page("done", email=found[1])
