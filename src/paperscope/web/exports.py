"""Papers as a downloadable file of a reference manager's format: BibTeX, CSL-JSON or RIS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import Response

from paperscope.feed.references import EXPORT_FORMATS
from paperscope.models import Paper


def export_response(papers: Iterable[Paper], fmt: str, name: str) -> Response:
    """The papers in format `fmt` (a key of EXPORT_FORMATS), as an attachment named `name`.EXT."""
    export = EXPORT_FORMATS[fmt]
    return Response(export.write(papers), media_type=export.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{export.extension}"'})


def export_responses(fmt: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an export route: its media type."""
    return {200: {"content": {EXPORT_FORMATS[fmt].media_type.split(";")[0]: {}}}}
