"""Your whole library (the papers you saved) as a file for a reference manager: CSL-JSON or RIS. Its BibTeX,
which carries your notes, is `/me/library/bibtex` (pages/accounts.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from paperscope.models import Paper
from paperscope.store.accounts import User
from paperscope.web.deps import RequiredUser, ServicesDep
from paperscope.web.exports import export_response, export_responses
from paperscope.web.services import Services

router = APIRouter(tags=["library"])


def _saved(services: Services, user: User) -> list[Paper]:
    ids = services.store.accounts.library_ids(user.id, "saved")
    found = services.store.get_papers(ids)
    return [found[i] for i in ids if i in found]


@router.get("/me/library/csljson", summary="CSL-JSON of your library", response_class=Response,
            responses=export_responses("csljson"))
def library_csl_json(services: ServicesDep, user: RequiredUser) -> Response:
    return export_response(_saved(services, user), "csljson", "library")


@router.get("/me/library/ris", summary="RIS of your library", response_class=Response,
            responses=export_responses("ris"))
def library_ris(services: ServicesDep, user: RequiredUser) -> Response:
    return export_response(_saved(services, user), "ris", "library")
