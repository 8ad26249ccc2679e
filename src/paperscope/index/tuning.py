"""Hybrid search's fusion tuned on the instance's own papers, without labels: known-item queries.

    result = tune_fusion(store, embedder, settings)   # the worker and `paperscope index` run it when due
    save_tuning(store, result)                         # kept in the store's sync state, read by every process
    load_tuning(store)                                 # what SearchEngine.fusion() and `paperscope stats` read

Nobody labels queries on an instance, but each paper can be the one right answer of a query made from it
(known-item search). From a fixed random sample of the stored papers (QUERY_PAPERS), three queries each:

* **title**: the paper's title, as someone who remembers it types it;
* **sentence**: the abstract's first sentence (joined with the next while shorter than 8 words), *removed from that
  paper's indexed text*, so its words are nowhere beside the paper: a description in other words, the nearest thing
  to a question;
* **key terms**: the four rarest words of the title and that sentence, shuffled: what someone types who remembers
  the paper's key phrases but not how they were put (no paraphrasing model ships with paperscope, so the phrasing is
  dropped rather than rewritten).

The tuning corpus is every stored paper with a vector of the model (a fixed sample of CORPUS_LIMIT beyond that),
indexed afresh in a temporary keyword index, the sampled papers without their first sentence; its vectors are the
stored ones, except the sampled papers', embedded again without it. Each query's keyword ranking (at each depth of
DEPTHS) and exact semantic ranking are computed once, then every fusion of `grid()` (RRF with several constants and
weights, convex combinations with several weights, each at several depths of both rankings) is scored by the mean
reciprocal rank @10 of the query's paper, averaged over the three kinds.

The sampled papers are split in two halves: the fusion is chosen on one and checked on the other against the fixed
fusion of the settings. It is adopted only when it ranks that held-out half better; otherwise the fixed fusion stays.
docs/decisions/0111-self-tuned-hybrid-fusion.md says why, with the figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperscope.config import Settings
from paperscope.embed.base import Embedder, document_text
from paperscope.errors import InputError
from paperscope.index.hybrid import DEFAULT_DEPTH, Fusion
from paperscope.index.keyword import _STOPWORDS, KeywordIndex, parse_user_query
from paperscope.models import Paper
from paperscope.store import Store

STATE_KEY = "paperscope:search-tuning"  # the sync-state row that holds the tuning
KINDS = ("title", "sentence", "key terms")
QUERY_PAPERS = 300  # papers that give known-item queries (three each)
MIN_QUERY_PAPERS = 40  # fewer usable papers (abstracts long enough to lose a sentence) say too little to tune on
MIN_PAPERS = 1000  # a smaller store is not tuned when due (the fixed fusion serves it); "now" tunes it anyway
CORPUS_LIMIT = 20_000  # papers in the tuning corpus at most; a larger store is sampled
DEPTHS = (50, 100, 200)  # candidates of each ranking tried
RRF_KS = (10, 20, 40, 60, 100)
SEMANTIC_SHARES = (0.3, 0.4, 0.5, 0.6, 0.7)  # the semantic ranking's share of the two weights
CUTOFF = 10  # reciprocal rank @10: a paper below the first page counts as not found
KEY_TERMS = 4
MIN_SENTENCE_WORDS = 8
SEED = 19
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_WORD = re.compile(r"\w[\w-]*\w")

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class KnownItem:
    """A query made from a paper, whose one right answer is that paper."""

    paper_id: str
    kind: str
    text: str


@dataclass
class TuningResult:
    """One tuning: the fusion search uses, what it was chosen among, and how it ranked the known items.

    `scores` holds mean reciprocal ranks @10: for "chosen on" and "held out" (the two halves), each with the fixed
    fusion's and the chosen one's; `by_kind` the held-out half's per kind of query."""

    fusion: Fusion
    fixed: Fusion
    chosen: Fusion
    adopted: bool
    model: str
    papers: int  # stored papers when tuned: the next tuning is due when this has grown by the set factor
    corpus: int  # papers in the tuning corpus
    query_papers: int
    queries: int
    held_out_queries: int
    scores: dict[str, dict[str, float]]
    by_kind: dict[str, dict[str, float]]
    candidates: int  # fusions tried
    seconds: float
    tuned_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(fusion=self.fusion.to_json(), fixed=self.fixed.to_json(), chosen=self.chosen.to_json(),
                    tuned_at=self.tuned_at.isoformat())
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TuningResult:
        """The result `to_json` wrote; ValueError when the stored record is not one."""
        try:
            values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        except KeyError as exc:
            raise ValueError(f"the stored search tuning lacks {exc}") from exc
        for name in ("fusion", "fixed", "chosen"):
            values[name] = Fusion.from_json(values[name])
        values["tuned_at"] = dt.datetime.fromisoformat(values["tuned_at"])
        return cls(**values)

    def summary(self) -> str:
        """One line for people: what search uses and what it did to the held-out known items."""
        held = self.scores["held out"]
        what = f"tuned: {self.fusion.describe()}" if self.adopted else f"fixed kept ({self.chosen.describe()} " \
            "did no better on the held-out queries)"
        return (f"{what}; known-item MRR@10 on {self.held_out_queries} held-out queries: fixed {held['fixed']:.3f}, "
                f"chosen {held['chosen']:.3f}; tuned on {self.papers:,} papers in {self.seconds:.0f} s")


def fixed_fusion(settings: Settings) -> Fusion:
    """The fusion of the settings (PAPERSCOPE_FUSION, _RRF_K, _KEYWORD_WEIGHT, _SEMANTIC_WEIGHT): what search uses
    without a tuning."""
    return Fusion(method=settings.fusion, keyword_weight=settings.keyword_weight,
                  semantic_weight=settings.semantic_weight, rrf_k=settings.rrf_k)


def grid() -> list[Fusion]:
    """The fusions a tuning chooses among."""
    weights = [(round(2 * (1 - share), 3), round(2 * share, 3)) for share in SEMANTIC_SHARES]
    found = []
    for keyword_depth in DEPTHS:
        for semantic_depth in DEPTHS:
            depths = {"keyword_depth": keyword_depth, "semantic_depth": semantic_depth}
            found += [Fusion("rrf", kw, sem, rrf_k=k, **depths) for k in RRF_KS for kw, sem in weights]
            found += [Fusion("convex", kw / 2, sem / 2, **depths) for kw, sem in weights]
    return found


# Stored state ----------------------------------------------------------------------------------------------

def save_tuning(store: Store, result: TuningResult) -> None:
    store.set_sync_state(STATE_KEY, result.to_json())


def load_tuning(store: Store) -> TuningResult | None:
    """The stored tuning (of whichever model), or None when there is none or it cannot be read."""
    state = store.get_sync_state(STATE_KEY)
    if not state:
        return None
    try:
        return TuningResult.from_json(state)
    except (ValueError, TypeError):
        return None  # written by another version: the next tuning replaces it


def tuning_due(store: Store, settings: Settings, model: str, *, min_papers: int = MIN_PAPERS) -> bool:
    """Whether a tuning should run: tuning is on, the store holds `min_papers` papers, and there is no tuning of this
    model yet or the store has grown by PAPERSCOPE_SEARCH_RETUNE_GROWTH since."""
    if not settings.search_tuning:
        return False
    count = store.count_papers()
    if count < min_papers:
        return False
    last = load_tuning(store)
    return last is None or last.model != model or count >= last.papers * settings.search_retune_growth


# Known items ------------------------------------------------------------------------------------------------

def first_sentence(abstract: str) -> tuple[str, str] | None:
    """An abstract's first sentence (joined with the next while shorter than MIN_SENTENCE_WORDS words) and the rest,
    or None when nothing substantial would remain."""
    sentences = _SENTENCE_END.split(" ".join(abstract.split()))
    taken = 1
    while taken < len(sentences) and len(" ".join(sentences[:taken]).split()) < MIN_SENTENCE_WORDS:
        taken += 1
    query, rest = " ".join(sentences[:taken]), " ".join(sentences[taken:])
    if len(query.split()) < MIN_SENTENCE_WORDS or len(rest.split()) < 2 * MIN_SENTENCE_WORDS:
        return None
    return query, rest


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and not w.replace("-", "").isdigit()]


def known_items(papers: Sequence[Paper], *, count: int = QUERY_PAPERS, seed: int = SEED
                ) -> tuple[list[KnownItem], dict[str, Paper]]:
    """The known-item queries of up to `count` papers drawn with `seed`, and those papers as they are indexed for
    the tuning (their abstracts without the first sentence). Key terms are ranked by how few of `papers` hold them."""
    rng = random.Random(seed)
    drawn: list[tuple[Paper, str, str]] = []
    for paper in rng.sample(sorted(papers, key=lambda p: p.id), len(papers)):
        if len(drawn) >= count:
            break
        split = first_sentence(paper.abstract) if paper.abstract and paper.title.strip() else None
        if split is not None:
            drawn.append((paper, *split))
    wanted = {w for paper, sentence, _ in drawn for w in _content_words(f"{paper.title} {sentence}")}
    shortened = {paper.id: dataclasses.replace(paper, abstract=rest) for paper, _, rest in drawn}
    frequency: Counter[str] = Counter()
    for paper in papers:
        indexed = shortened.get(paper.id, paper)
        frequency.update(set(_content_words(f"{indexed.title} {indexed.abstract}")) & wanted)
    items = []
    for paper, sentence, _ in drawn:
        words = sorted({w for w in _content_words(f"{paper.title} {sentence}") if frequency[w]},
                       key=lambda w: (frequency[w], w))[:KEY_TERMS]
        rng.shuffle(words)
        items.append(KnownItem(paper.id, "title", " ".join(paper.title.split())))
        items.append(KnownItem(paper.id, "sentence", sentence))
        if words:
            items.append(KnownItem(paper.id, "key terms", " ".join(words)))
    return items, shortened


# Rankings and their fusions -----------------------------------------------------------------------------------

@dataclass
class KnownItemRankings:
    """Each known item's keyword ranking (at every depth of DEPTHS) and semantic ranking (at the deepest), over the
    tuning corpus: enough to score any fusion of the grid without searching again."""

    items: list[KnownItem]
    keyword: list[dict[int, list[tuple[str, float]]]]
    semantic: list[list[tuple[str, float]]]
    _arrays: dict[tuple[int, int, int], Any] = field(default_factory=dict, repr=False)

    def ranks(self, fusions: Sequence[Fusion], which: Sequence[int] | None = None) -> np.ndarray:
        """The rank (1-based, 0 when absent) of each item's paper under each fusion: shape (fusions, items). The
        same rank `Fusion.fuse` gives the paper, ties included (they keep the keyword ranking's order first)."""
        which = range(len(self.items)) if which is None else which
        out = np.zeros((len(fusions), len(which)), dtype=np.int64)
        groups: dict[tuple[int, int], list[int]] = {}
        for n, fusion in enumerate(fusions):
            groups.setdefault((fusion.keyword_depth, fusion.semantic_depth), []).append(n)
        for (keyword_depth, semantic_depth), members in groups.items():
            chosen = [fusions[n] for n in members]
            rrf = np.array([f.method == "rrf" for f in chosen])
            k = np.array([f.rrf_k for f in chosen], dtype=np.float64)[:, None]
            wk = np.array([f.keyword_weight for f in chosen], dtype=np.float64)[:, None]
            ws = np.array([f.semantic_weight for f in chosen], dtype=np.float64)[:, None]
            for column, item in enumerate(which):
                arrays = self._candidate_arrays(item, keyword_depth, semantic_depth)
                if arrays is None:
                    continue
                target, rank_k, rank_s, norm_k, norm_s = arrays
                with np.errstate(divide="ignore"):
                    by_rank = (np.where(rank_k > 0, wk / (k + rank_k), 0.0)
                               + np.where(rank_s > 0, ws / (k + rank_s), 0.0))
                by_score = wk * norm_k + ws * norm_s
                scores = np.where(rrf[:, None], by_rank, by_score)
                own = scores[:, target:target + 1]
                ahead = (scores > own).sum(axis=1) + (scores[:, :target] == own).sum(axis=1)
                out[members, column] = ahead + 1
        return out

    def _candidate_arrays(self, item: int, keyword_depth: int, semantic_depth: int) -> Any:
        """(target position, keyword ranks, semantic ranks, normalised keyword and semantic scores) over the fused
        candidates in the order the fusion first meets them (keyword hits, then semantic-only ones)."""
        key = (item, keyword_depth, semantic_depth)
        if key not in self._arrays:
            keyword = self.keyword[item][keyword_depth]
            semantic = self.semantic[item][:semantic_depth]
            order = [pid for pid, _ in keyword]
            seen = set(order)
            order += [pid for pid, _ in semantic if pid not in seen]
            target = self.items[item].paper_id
            if target not in seen and all(pid != target for pid, _ in semantic):
                self._arrays[key] = None
                return None
            position = {pid: n for n, pid in enumerate(order)}
            rank_k, rank_s = np.zeros(len(order)), np.zeros(len(order))
            norm_k, norm_s = np.zeros(len(order)), np.zeros(len(order))
            for hits, ranks, norms in ((keyword, rank_k, norm_k), (semantic, rank_s, norm_s)):
                if not hits:
                    continue
                values = [score for _, score in hits]
                low, span = min(values), (max(values) - min(values)) or 1.0
                for rank, (pid, score) in enumerate(hits, start=1):
                    ranks[position[pid]] = rank
                    norms[position[pid]] = (score - low) / span
            self._arrays[key] = (position[target], rank_k, rank_s, norm_k, norm_s)
        return self._arrays[key]

    def mrr(self, fusions: Sequence[Fusion], which: Sequence[int] | None = None) -> np.ndarray:
        """Mean reciprocal rank @CUTOFF per fusion, the mean over the kinds of query of each kind's mean."""
        return self.mrr_with_margins(fusions, which)[0]

    def mrr_with_margins(self, fusions: Sequence[Fusion], which: Sequence[int] | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """`mrr`, and the standard error of each fusion's paired difference from the best of them."""
        which = list(range(len(self.items)) if which is None else which)
        ranks = self.ranks(fusions, which)
        reciprocal = np.where((ranks > 0) & (ranks <= CUTOFF), 1.0 / np.maximum(ranks, 1), 0.0)
        kinds = np.array([self.items[n].kind for n in which])
        present = [kind for kind in KINDS if (kinds == kind).any()]
        scores = np.mean([reciprocal[:, kinds == kind].mean(axis=1) for kind in present], axis=0)
        differences = reciprocal - reciprocal[int(np.argmax(scores))]
        variance = sum(differences[:, kinds == kind].var(axis=1) / (kinds == kind).sum() for kind in present)
        return scores, np.sqrt(variance) / len(present)


def rank_known_items(items: Sequence[KnownItem], papers: Sequence[Paper], ids: Sequence[str], matrix: np.ndarray,
                     embedder: Embedder, *, folder: Path) -> KnownItemRankings:
    """Search every known item in a keyword index of `papers` built in `folder` and exactly over `matrix` (the
    vectors of `ids`, unit rows)."""
    keyword_index = KeywordIndex(folder)
    for start in range(0, len(papers), 2000):
        keyword_index.add(papers[start:start + 2000])
    keyword_index.commit()
    keyword = [{depth: keyword_index.search(parse_user_query(item.text), depth) for depth in DEPTHS}
               for item in items]
    deepest = max(DEPTHS)
    query_vectors = embedder.embed([item.text for item in items])
    semantic = []
    for start in range(0, len(items), 256):
        scores = query_vectors[start:start + 256] @ matrix.T
        top = np.argpartition(-scores, min(deepest, scores.shape[1] - 1), axis=1)[:, :deepest]
        for row, candidates in zip(scores, top, strict=True):
            best = candidates[np.argsort(-row[candidates], kind="stable")]
            semantic.append([(ids[n], float(row[n])) for n in best])
    return KnownItemRankings(list(items), keyword, semantic)


# The tuning ---------------------------------------------------------------------------------------------------

def tuning_corpus(store: Store, model: str, limit: int = CORPUS_LIMIT) -> tuple[list[str], np.ndarray]:
    """The ids and stored vectors of the papers tuned on: all with a vector of `model`, or a fixed sample of about
    `limit` of them (by a hash of the id, so the same papers each time)."""
    total = int(store.embedding_models().get(model, {}).get("count", 0))
    if total <= limit:
        return store.load_embeddings(model)
    keep_below = limit / total * 2**32
    ids: list[str] = []
    blocks = []
    for batch_ids, block in store.iter_embeddings(model):
        rows = [n for n, pid in enumerate(batch_ids) if zlib.crc32(pid.encode("utf-8")) < keep_below]
        ids += [batch_ids[n] for n in rows]
        blocks.append(block[rows])
    return ids, np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)


def _papers(store: Store, ids: Sequence[str]) -> Iterator[Paper]:
    for start in range(0, len(ids), 2000):
        found = store.get_papers(list(ids[start:start + 2000]))
        yield from (found[pid] for pid in ids[start:start + 2000] if pid in found)


def tune_fusion(store: Store, embedder: Embedder, settings: Settings, *, query_papers: int = QUERY_PAPERS,
                corpus_limit: int = CORPUS_LIMIT, seed: int = SEED, clock: Clock | None = None) -> TuningResult:
    """Choose hybrid search's fusion on known-item queries made from the stored papers (module docstring).
    InputError when the store has too few papers with an abstract and a vector of the model to tune on."""
    started = time.perf_counter()
    ids, matrix = tuning_corpus(store, embedder.name, corpus_limit)
    papers = list(_papers(store, ids))
    items, shortened = known_items(papers, count=query_papers, seed=seed)
    if len(shortened) < MIN_QUERY_PAPERS:
        raise InputError(f"Search tuning needs at least {MIN_QUERY_PAPERS} embedded papers with an abstract of a few "
                         f"sentences; this store has {len(shortened)}. Add papers, index them, then tune again.")
    row = {pid: n for n, pid in enumerate(ids)}
    matrix = matrix.copy()
    changed = list(shortened.values())
    matrix[[row[p.id] for p in changed]] = embedder.embed([document_text(p) for p in changed])
    indexed = [shortened.get(p.id, p) for p in papers]
    with tempfile.TemporaryDirectory(prefix="paperscope-tuning-") as folder:
        rankings = rank_known_items(items, indexed, [p.id for p in papers],
                                    matrix[[row[p.id] for p in papers]], embedder, folder=Path(folder))
    halves = _halves(items, seed)
    fixed = fixed_fusion(settings)
    candidates = [fixed] + [f for f in grid() if f != fixed]
    on_choice, margins = rankings.mrr_with_margins(candidates, halves[0])
    chosen = _closest_to_balanced(candidates, on_choice, margins)
    held_fixed, held_chosen = rankings.mrr([fixed, chosen], halves[1])
    adopted = bool(chosen != fixed and held_chosen > held_fixed)
    by_kind = {}
    for kind in KINDS:
        members = [n for n in halves[1] if items[n].kind == kind]
        if members:
            fixed_score, chosen_score = rankings.mrr([fixed, chosen], members)
            by_kind[kind] = {"fixed": round(float(fixed_score), 4), "chosen": round(float(chosen_score), 4)}
    now = clock() if clock is not None else dt.datetime.now(dt.UTC)
    return TuningResult(
        fusion=chosen if adopted else fixed, fixed=fixed, chosen=chosen, adopted=adopted, model=embedder.name,
        papers=store.count_papers(), corpus=len(papers), query_papers=len(shortened), queries=len(items),
        held_out_queries=len(halves[1]),
        scores={"chosen on": {"fixed": round(float(on_choice[0]), 4),
                              "chosen": round(float(on_choice[candidates.index(chosen)]), 4)},
                "held out": {"fixed": round(float(held_fixed), 4), "chosen": round(float(held_chosen), 4)}},
        by_kind=by_kind, candidates=len(candidates), seconds=round(time.perf_counter() - started, 1), tuned_at=now)


def _closest_to_balanced(candidates: Sequence[Fusion], scores: np.ndarray, margins: np.ndarray) -> Fusion:
    """The one-standard-error rule: among the fusions whose score is within one standard error (of their paired
    difference from the best) of the best, the one nearest equal weights and the default depths. The differences
    between the best few fusions are mostly noise, and the known items lean towards keyword search (their words
    come from the paper itself), so the rule keeps the choice near balance unless the evidence is clear."""
    best = int(np.argmax(scores))
    close = [n for n in range(len(candidates)) if scores[n] >= scores[best] - margins[n]]

    def distance(fusion: Fusion) -> tuple[float, float, bool, float]:
        share = fusion.semantic_weight / ((fusion.keyword_weight + fusion.semantic_weight) or 1.0)
        depths = abs(np.log(fusion.keyword_depth / DEFAULT_DEPTH)) + abs(np.log(fusion.semantic_depth / DEFAULT_DEPTH))
        return (round(abs(share - 0.5), 3), round(float(depths), 3), fusion.method != "rrf",
                float(abs(np.log(fusion.rrf_k / 60))))

    return candidates[min(close, key=lambda n: (distance(candidates[n]), n))]


def _halves(items: Sequence[KnownItem], seed: int) -> tuple[list[int], list[int]]:
    """The items split by paper into the half the fusion is chosen on and the half it is checked on."""
    papers = sorted({item.paper_id for item in items})
    random.Random(seed + 1).shuffle(papers)
    first = set(papers[: len(papers) // 2])
    return ([n for n, item in enumerate(items) if item.paper_id in first],
            [n for n, item in enumerate(items) if item.paper_id not in first])
