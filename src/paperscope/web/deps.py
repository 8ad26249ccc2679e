"""Dependencies of the routes, as `Annotated` aliases (the FastAPI full-stack template's habit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from paperscope.errors import SignInRequired
from paperscope.store.accounts import User
from paperscope.web.security import bearer_user, require_csrf, session_user
from paperscope.web.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_user(request: Request, services: ServicesDep) -> User | None:
    """The signed-in user (session cookie), or None."""
    return session_user(request, services)


def require_user(request: Request, services: ServicesDep) -> User:
    return signed_in(request, session_user(request, services))


def signed_in(request: Request, user: User | None) -> User:
    """The signed-in user, or the redirect to sign in. A page route with query parameters takes `CurrentUser` and
    calls this in its body, so that a malformed parameter is answered 422 before anyone is asked to sign in."""
    if user is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return user


def get_api_user(request: Request, services: ServicesDep) -> User | None:
    """The API caller: an API token's owner, else the session's user; None when anonymous."""
    return bearer_user(request, services) or session_user(request, services)


async def require_api_user(request: Request, services: ServicesDep) -> User:
    """A signed-in API caller. A cookie session must also send the CSRF header on state-changing methods."""
    user = bearer_user(request, services)
    if user is not None:
        return user
    user = session_user(request, services)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in, or send an API token as "
                            "'Authorization: Bearer ps_...'.", headers={"WWW-Authenticate": "Bearer"})
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await require_csrf(request)
    return user


CurrentUser = Annotated[User | None, Depends(get_user)]
RequiredUser = Annotated[User, Depends(require_user)]
ApiUser = Annotated[User | None, Depends(get_api_user)]
RequiredApiUser = Annotated[User, Depends(require_api_user)]
CsrfChecked = Depends(require_csrf)
