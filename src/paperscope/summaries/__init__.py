"""Optional LLM summaries of papers (PAPERSCOPE_LLM_URL): one sentence and three key phrases per new paper,
written in the background by any OpenAI-compatible chat endpoint and stored with the model's name
(store/summaries.py). Without the setting nothing is called. docs/decisions/0108-llm-summaries.md says why it
works as it does."""

from paperscope.summaries.answer import Summary, parse_answer
from paperscope.summaries.run import SummaryRun, require_llm, summarise_papers, summary_client

__all__ = ["Summary", "SummaryRun", "parse_answer", "require_llm", "summarise_papers", "summary_client"]
