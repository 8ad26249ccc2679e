"""JSON API of the server's status: papers stored, what the background jobs are doing, index sizes."""

from __future__ import annotations

import os

from fastapi import APIRouter

from paperscope.web.deps import ServicesDep
from paperscope.web.schemas import ERROR_RESPONSES, StatusOut

router = APIRouter(tags=["status"], responses=ERROR_RESPONSES)


@router.get("/status", response_model=StatusOut, summary="Papers stored and what the background jobs are doing")
def status(services: ServicesDep) -> StatusOut:
    job = services.jobs.status if services.jobs is not None else None
    keyword_indexed, vectors_indexed = services.search.sizes()
    return StatusOut(papers=services.store.count_papers(), background_jobs=services.jobs is not None,
                     state=job.state if job else None, activity=job.activity if job else None,
                     problems=job.problems if job else [], process_id=os.getpid(),
                     keyword_indexed=keyword_indexed, vectors_indexed=vectors_indexed)
