"""Accounts: sign up, sign in (rate limited), sign out, and the user's own page with library, collections,
tags, submissions, settings and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.auth import hash_password, verify_password
from paperscope.errors import InputError
from paperscope.limits import DISPLAY_NAME, TIMEZONE
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep
from paperscope.web.pages import cards, page
from paperscope.web.params import RecordId
from paperscope.web.security import (
    client_address,
    safe_next,
    sign_in,
    sign_in_wait,
    sign_out,
    throttle_keys,
)

router = APIRouter(tags=["accounts"])


@router.get("/signup", response_class=HTMLResponse, summary="Sign-up form")
def signup_form(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    return page(request, services, "signup.html", {"error": None, "email": "", "display_name": "",
                                                   "next": safe_next(next)})


@router.post("/signup", dependencies=[CsrfChecked], summary="Create an account")
def signup(request: Request, services: ServicesDep, email: Annotated[str, Form()],
           password: Annotated[str, Form()], display_name: Annotated[str, Form()] = "",
           next: Annotated[str, Form()] = "/") -> Response:
    try:
        user = services.store.accounts.create_user(email, password_hash=hash_password(password),
                                                   display_name=display_name.strip()[:100] or None)
    except InputError as exc:
        return page(request, services, "signup.html", {"error": str(exc), "email": email,
                                                       "display_name": display_name, "next": safe_next(next)},
                    status_code=400)
    sign_in(request, services, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/signin", response_class=HTMLResponse, summary="Sign-in form")
def signin_form(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    return page(request, services, "signin.html", {"error": None, "email": "", "next": safe_next(next)})


@router.post("/signin", dependencies=[CsrfChecked], summary="Sign in")
def signin(request: Request, services: ServicesDep, email: Annotated[str, Form()],
           password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    address = client_address(request)
    context = {"email": email, "next": safe_next(next)}
    wait = sign_in_wait(services, email, address)
    if wait:
        minutes = max(1, round(wait / 60))
        refused = page(request, services, "signin.html", {
            **context, "error": f"Too many failed sign-ins. Try again in about {minutes} minute(s)."},
            status_code=429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    user = services.store.accounts.get_user_by_email(email)
    stored = services.store.accounts.password_hash(user.id) if user else None
    if user is None or not verify_password(stored, password):
        services.store.sessions.record_sign_in_failure(*throttle_keys(email, address))
        return page(request, services, "signin.html", {**context, "error": "Wrong e-mail or password."},
                    status_code=400)
    services.store.sessions.clear_sign_in_failures(throttle_keys(email, address)[0])
    sign_in(request, services, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/signout", dependencies=[CsrfChecked], summary="Sign out")
def signout(request: Request, services: ServicesDep) -> Response:
    sign_out(request, services)
    return RedirectResponse("/", status_code=303)


@router.get("/me", response_class=HTMLResponse, summary="Your library, collections, tags and settings")
def me(request: Request, services: ServicesDep, user: RequiredUser, message: str | None = None) -> HTMLResponse:
    return _me_page(request, services, user, message=message)


def _me_page(request: Request, services: ServicesDep, user: RequiredUser, *, message: str | None = None,
             error: str | None = None, new_token: str | None = None, status_code: int = 200) -> HTMLResponse:
    accounts = services.store.accounts
    saved = accounts.library_ids(user.id, "saved")
    tags = accounts.tags_of(user.id)
    found = services.store.get_papers(set(saved) | {pid for ids in tags.values() for pid in ids})
    return page(request, services, "me.html", {
        "library": cards(services, user, [found[pid] for pid in saved if pid in found]),
        "collections": accounts.list_collections(user.id, viewer_id=user.id),
        "tags": tags, "titles": {pid: p.title for pid, p in found.items()},
        "submissions": services.store.submissions.by_user(user.id),
        "tokens": services.store.sessions.api_tokens(user.id),
        "message": message, "error": error, "new_token": new_token,
        "feed_token": services.store.digests.feed_token(user.id),
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
    return RedirectResponse("/me?message=Settings+saved.#settings", status_code=303)


@router.post("/me/password", dependencies=[CsrfChecked], summary="Change password")
def me_password(request: Request, services: ServicesDep, user: RequiredUser,
                current: Annotated[str, Form()], new: Annotated[str, Form()]) -> Response:
    if not verify_password(services.store.accounts.password_hash(user.id), current):
        return _me_page(request, services, user, error="The current password is wrong.", status_code=400)
    try:
        hashed = hash_password(new)
    except InputError as exc:
        return _me_page(request, services, user, error=str(exc), status_code=400)
    services.store.accounts.update_user(user.id, password_hash=hashed)
    services.store.sessions.end_all_sessions(user.id)
    sign_in(request, services, user)
    return RedirectResponse("/me?message=Password+changed;+other+sessions+were+signed+out.#settings",
                            status_code=303)


@router.post("/me/tokens", dependencies=[CsrfChecked], summary="Create an API token")
def create_token(request: Request, services: ServicesDep, user: RequiredUser,
                 name: Annotated[str, Form()]) -> Response:
    try:
        _, secret = services.store.sessions.create_api_token(user.id, name)
    except InputError as exc:
        return _me_page(request, services, user, error=str(exc), status_code=400)
    return _me_page(request, services, user, new_token=secret)


@router.post("/me/tokens/{token_id}/revoke", dependencies=[CsrfChecked], summary="Revoke an API token")
def revoke_token(services: ServicesDep, user: RequiredUser, token_id: RecordId) -> Response:
    if not services.store.sessions.revoke_api_token(user.id, token_id):
        raise HTTPException(404, "You have no API token with that id.")
    return RedirectResponse("/me?message=Token+revoked.#settings", status_code=303)


@router.get("/theme", summary="Switch the colour theme (auto, light, dark)")
def switch_theme(request: Request, user: CurrentUser, next: str = "/", set: str | None = None) -> Response:
    order = ["auto", "light", "dark"]
    current = request.cookies.get("theme", "auto")
    chosen = set if set in order else order[(order.index(current) + 1) % 3 if current in order else 0]
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie("theme", chosen, max_age=365 * 86400, httponly=False, samesite="lax")
    return response
