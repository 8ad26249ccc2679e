"""Accounts: sign up, sign in (rate limited), sign out, and the user's own page with library (filtered by reading
state, its BibTeX with the user's notes, a search of their notes), collections, tags, submissions, settings
and API tokens."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope import throttle
from paperscope.auth import MAX_PASSWORD_LENGTH, hash_password, verify_password
from paperscope.errors import EmailTaken, InputError
from paperscope.feed.bibtex import to_bibtex
from paperscope.limits import DISPLAY_NAME, NOTES_QUERY, TIMEZONE
from paperscope.store.notes import READING_STATES
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep, signed_in
from paperscope.web.markdown import render_markdown
from paperscope.web.pages import cards, page, refusal_page
from paperscope.web.params import RecordId
from paperscope.web.security import (
    clear_sign_in_failures,
    client_address,
    flash,
    record_sign_in_failure,
    safe_next,
    sign_in,
    sign_in_wait,
    sign_out,
    too_many,
)

router = APIRouter(tags=["accounts"])
SIGN_IN_EMAIL = "sign_in_email"  # the address a sign-up hands to the sign-in form, in the session


@router.get("/signup", response_class=HTMLResponse, summary="Sign-up form")
def signup_form(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    return page(request, services, "signup.html", {"error": None, "email": "", "display_name": "",
                                                   "next": safe_next(next), "max_password": MAX_PASSWORD_LENGTH})


@router.post("/signup", dependencies=[CsrfChecked], summary="Create an account")
def signup(request: Request, services: ServicesDep, email: Annotated[str, Form()],
           password: Annotated[str, Form()], display_name: Annotated[str, Form()] = "",
           next: Annotated[str, Form()] = "/") -> Response:
    """Create the account, then send the browser to sign in. The answer is the same whether or not the address
    already had an account (which keeps its password), so sign-up tells nobody who has one."""
    context = {"email": email, "display_name": display_name, "next": safe_next(next),
               "max_password": MAX_PASSWORD_LENGTH}
    limit = throttle.sign_up_limit(services.settings)
    address = client_address(request)
    if wait := throttle.wait_seconds(services.store.sessions, (limit, address)):
        return refusal_page(request, services, "signup.html", context, too_many("sign-ups from your address", wait))
    name = display_name.strip()[:100] or None
    try:
        hashed = hash_password(password, user_inputs=[email, name])
        services.store.accounts.create_user(email, password_hash=hashed, display_name=name)
    except EmailTaken:
        pass  # answered as a new account is; the existing one is left as it was
    except InputError as exc:
        return page(request, services, "signup.html", {**context, "error": str(exc)}, status_code=400)
    throttle.record(services.store.sessions, (limit, address))
    request.session[SIGN_IN_EMAIL] = email.strip().lower()
    flash(request, f"Sign in with {email.strip().lower()} to start. If that address already had an account, it "
                   "keeps its own password, and the one you typed was not saved.")
    return RedirectResponse(f"/signin?next={quote(safe_next(next))}", status_code=303)


@router.get("/signin", response_class=HTMLResponse, summary="Sign-in form")
def signin_form(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    email = request.session.pop(SIGN_IN_EMAIL, "") if SIGN_IN_EMAIL in request.session else ""
    return page(request, services, "signin.html", {"error": None, "email": email if isinstance(email, str) else "",
                                                   "next": safe_next(next)})


@router.post("/signin", dependencies=[CsrfChecked], summary="Sign in")
def signin(request: Request, services: ServicesDep, email: Annotated[str, Form()],
           password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    """Sign in. An unknown address costs the same hash as a known one and gets the same answer."""
    context = {"email": email, "next": safe_next(next)}
    user = services.store.accounts.get_user_by_email(email)
    if wait := sign_in_wait(request, services, email, user):
        return refusal_page(request, services, "signin.html", context, too_many("failed sign-ins", wait))
    stored = services.store.accounts.password_hash(user.id) if user else None
    if not verify_password(stored, password) or user is None:
        record_sign_in_failure(request, services, email)
        return page(request, services, "signin.html", {**context, "error": "Wrong e-mail or password."},
                    status_code=400)
    clear_sign_in_failures(services, email)
    sign_in(request, services, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/signout", dependencies=[CsrfChecked], summary="Sign out")
def signout(request: Request, services: ServicesDep) -> Response:
    sign_out(request, services)
    return RedirectResponse("/", status_code=303)


ReadingFilter = Annotated[Literal["to-read", "reading", "read"] | None,
                          Query(description="Only the saved papers in this reading state")]
NotesSearch = Annotated[str, Query(description="Search your notes for these words"), Bounded(NOTES_QUERY)]


@router.get("/me", response_class=HTMLResponse, summary="Your library, notes, collections, tags and settings")
def me(request: Request, services: ServicesDep, user: CurrentUser, reading: ReadingFilter = None,
       q: NotesSearch = "") -> HTMLResponse:
    return _me_page(request, services, signed_in(request, user), reading=reading, notes_query=q)


@router.get("/me/library/bibtex", summary="BibTeX of your library, with your notes", response_class=Response,
            responses={200: {"content": {"application/x-bibtex": {}}}})
def library_bibtex(request: Request, services: ServicesDep, user: CurrentUser, reading: ReadingFilter = None
                   ) -> Response:
    user = signed_in(request, user)
    ids = (services.store.notes.library_by_reading(user.id, reading) if reading
           else services.store.accounts.library_ids(user.id, "saved"))
    found = services.store.get_papers(ids)
    papers = [found[i] for i in ids if i in found]
    return Response(to_bibtex(papers, services.store.notes.notes_of(user.id, ids)),
                    media_type="application/x-bibtex; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="library.bib"'})


def _me_page(request: Request, services: ServicesDep, user: RequiredUser, *, error: str | None = None,
             new_token: str | None = None, status_code: int = 200, reading: str | None = None,
             notes_query: str = "") -> HTMLResponse:
    accounts = services.store.accounts
    saved = services.store.notes.library_by_reading(user.id, reading) if reading else accounts.library_ids(user.id)
    tags = accounts.tags_of(user.id)
    found_notes = services.store.notes.search_notes(user.id, notes_query) if notes_query.strip() else []
    found = services.store.get_papers(set(saved) | {pid for ids in tags.values() for pid in ids}
                                      | {n.paper_id for n in found_notes})
    return page(request, services, "me.html", {
        "library": cards(services, user, [found[pid] for pid in saved if pid in found]),
        "reading": reading, "reading_states": READING_STATES,
        "reading_of": services.store.notes.reading_states(user.id, saved),
        "notes_query": notes_query,
        "found_notes": [(n, found[n.paper_id], render_markdown(n.body)) for n in found_notes if n.paper_id in found],
        "collections": accounts.list_collections(user.id, viewer_id=user.id),
        "tags": tags, "titles": {pid: p.title for pid, p in found.items()},
        "submissions": services.store.submissions.by_user(user.id),
        "tokens": services.store.sessions.api_tokens(user.id),
        "error": error, "new_token": new_token, "max_password": MAX_PASSWORD_LENGTH,
        "feed_token": services.store.digests.feed_token(user.id),
        "digest_subscription": services.store.digests.get_subscription(user.id),
        "webhooks": services.store.webhooks.of_user(user.id),
        "base_url": services.settings.base_url.rstrip("/")}, status_code=status_code)


@router.post("/me/settings", dependencies=[CsrfChecked], summary="Change name and time zone")
def me_settings(request: Request, services: ServicesDep, user: RequiredUser,
                display_name: Annotated[str, Form(), Bounded(DISPLAY_NAME)] = "",
                timezone: Annotated[str, Form(), Bounded(TIMEZONE)] = "UTC") -> Response:
    import zoneinfo

    zone = timezone.strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return _me_page(request, services, user, error=f"Unknown time zone {zone!r}: use a name such as "
                        "Europe/Berlin or America/New_York.", status_code=400)
    services.store.accounts.update_user(user.id, display_name=display_name.strip()[:100] or None, timezone=zone)
    flash(request, "Settings saved.")
    return RedirectResponse("/me#settings", status_code=303)


@router.post("/me/password", dependencies=[CsrfChecked], summary="Change password")
def me_password(request: Request, services: ServicesDep, user: RequiredUser,
                current: Annotated[str, Form()], new: Annotated[str, Form()],
                revoke_tokens: Annotated[bool, Form()] = False) -> Response:
    """Change the password; other sessions end, and the API tokens too when `revoke_tokens` is ticked (the
    form ticks it)."""
    if not verify_password(services.store.accounts.password_hash(user.id), current):
        return _me_page(request, services, user, error="The current password is wrong.", status_code=400)
    try:
        hashed = hash_password(new, user_inputs=[user.email, user.display_name])
    except InputError as exc:
        return _me_page(request, services, user, error=f"New password: {exc}", status_code=400)
    services.store.accounts.update_user(user.id, password_hash=hashed)
    services.store.sessions.end_all_sessions(user.id)
    revoked = services.store.sessions.revoke_all_api_tokens(user.id) if revoke_tokens else 0
    sign_in(request, services, user)
    flash(request, "Password changed; other sessions were signed out"
          + (f" and your {revoked} API token(s) revoked." if revoked else "."))
    return RedirectResponse("/me#settings", status_code=303)


@router.post("/me/feed-token", dependencies=[CsrfChecked], summary="Give the private feed a new address")
def rotate_feed_token(request: Request, services: ServicesDep, user: RequiredUser) -> Response:
    services.store.digests.feed_token(user.id, rotate=True)
    flash(request, "Your private feed has a new address; the old one no longer works.")
    return RedirectResponse("/me#recommendations", status_code=303)


@router.post("/me/tokens", dependencies=[CsrfChecked], summary="Create an API token")
def create_token(request: Request, services: ServicesDep, user: RequiredUser,
                 name: Annotated[str, Form()]) -> Response:
    try:
        _, secret = services.store.sessions.create_api_token(user.id, name)
    except InputError as exc:
        return _me_page(request, services, user, error=str(exc), status_code=400)
    return _me_page(request, services, user, new_token=secret)


@router.post("/me/tokens/{token_id}/revoke", dependencies=[CsrfChecked], summary="Revoke an API token")
def revoke_token(request: Request, services: ServicesDep, user: RequiredUser, token_id: RecordId) -> Response:
    if not services.store.sessions.revoke_api_token(user.id, token_id):
        raise HTTPException(404, "You have no API token with that id.")
    flash(request, "Token revoked.")
    return RedirectResponse("/me#settings", status_code=303)


@router.get("/theme", summary="Switch the colour theme (auto, light, dark)")
def switch_theme(request: Request, user: CurrentUser, next: str = "/", set: str | None = None) -> Response:
    order = ["auto", "light", "dark"]
    current = request.cookies.get("theme", "auto")
    chosen = set if set in order else order[(order.index(current) + 1) % 3 if current in order else 0]
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie("theme", chosen, max_age=365 * 86400, httponly=False, samesite="lax")
    return response
