"""What the routes ask of moderation: who is an admin (everything admin answers 404 to anyone else, as if it were
not there), what a blocked user is refused (403 with a message saying so), and the comment a moderation route
acts on. Routes of moderation itself: web/routes/pages/moderation.py and web/routes/api/moderation.py;
docs/decisions/0102-hidden-papers-and-blocked-users.md says what "hidden" and "blocked" mean."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from paperscope.store.accounts import User
from paperscope.web.deps import ServicesDep, get_api_user, get_user
from paperscope.web.services import Services


def nothing_here(request: Request) -> HTTPException:
    """The 404 of an address the app does not have: what a non-admin gets from every admin route."""
    return HTTPException(status.HTTP_404_NOT_FOUND, f"There is nothing at {request.url.path}.")


def require_admin(request: Request, user: Annotated[User | None, Depends(get_user)]) -> User:
    """The signed-in admin of a page or form; 404 for anyone else, signed in or not."""
    if user is None or not user.is_admin:
        raise nothing_here(request)
    return user


async def require_admin_api(request: Request, services: ServicesDep) -> User:
    """The admin calling the API (API token, or session with the CSRF header); 404 for anyone else."""
    user = get_api_user(request, services)
    if user is None or not user.is_admin:
        raise nothing_here(request)
    if not request.headers.get("Authorization") and request.method not in ("GET", "HEAD", "OPTIONS"):
        from paperscope.web.security import require_csrf

        await require_csrf(request)
    return user


AdminUser = Annotated[User, Depends(require_admin)]
AdminApiUser = Annotated[User, Depends(require_admin_api)]


def blocked_refusal(user: User, doing: str) -> HTTPException | None:
    """The 403 a blocked user gets for `doing` something others would see ("vote", "submit papers"); None when
    the user is not blocked."""
    if not user.blocked:
        return None
    return HTTPException(status.HTTP_403_FORBIDDEN,
                         f"Your account is blocked by a moderator, so you cannot {doing}. You can still read "
                         "papers and keep your library, notes and private collections; ask the site's admins "
                         "to lift the block.")


def refuse_blocked(user: User, doing: str) -> None:
    """Raise `blocked_refusal` for a blocked user."""
    if (refusal := blocked_refusal(user, doing)) is not None:
        raise refusal


def comment_paper(services: Services, comment_id: int, viewer: User | None) -> str:
    """The id of the paper a comment the viewer can see is on; 404 when there is no such comment, or it (or its
    paper) is hidden from the viewer."""
    found = services.store.moderation.comment_visibility(comment_id)
    if found is None or (not (viewer and viewer.is_admin) and (found.hidden or found.paper_hidden)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no comment {comment_id} that you can see.")
    return found.paper_id
