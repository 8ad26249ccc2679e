"""Recommendations for one user from what the store knows: library, hidden papers, votes and follows.

`Recommender` builds the corpus once (every stored vector of the configured embedding model and a TF-IDF
matrix of titles and abstracts) and ranks a period's papers for any number of users. Each user's ranking
fuses the signals (the text model's SVM, a words-only SVM, the graph diffusion, citation ties) with the
weights chosen from that user's own library (recommend/mix.py), stored until the library changes; a ranker
passed in ranks every user alike instead. Every recommendation carries its reason: the library papers it is
closest to, the weightiest terms it shares with them, the follows it matches, and the signals that carried it.

The corpus is bounded by `PAPERSCOPE_RECOMMEND_CORPUS_PAPERS` (`Settings.recommend_corpus_papers`): while the store
holds at most that many papers it is every embedded paper; past it, the newest that many (what digests and
/recommendations rank, and where the rankers draw their background of negatives from, as arxiv-sanity-lite ranks
a recent window) plus every paper a user saved, voted for or hid, read by id. A user's marks made since the
snapshot was read and missing from it are read by id for that ranking alone. Memory then stays near 4 KB a paper
of the window, whatever the store's size (docs/decisions/0125-bounded-recommendation-corpus.md).

The corpus is a `CorpusSnapshot`, never changed once made. When the store gains vectors, `load_corpus` folds
the new ones into a new snapshot (their TF-IDF rows from the vocabulary already fit) and reads everything
again only when the folded rows pass `REFIT_SHARE` of the corpus or papers went away. By default `corpus`
does so on the next read; with `refresh_on_read=False` it serves the snapshot it has, and the caller loads
the next one where it likes (the web app, in the background: web/recommendations.py).

Cold start and follows: a followed search is embedded as a query and seeds the ranking beside the library
(its words as TF-IDF rows); a followed topic of the topic map seeds it with the topic's most central papers;
a followed author's papers are lifted above the rest. So a user with an empty library who picked a topic
or typed a few keywords gets a sensible list from the first day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from paperscope.config import Settings
from paperscope.embed.base import Embedder, document_text
from paperscope.errors import Fix, InputError, NothingToGoOn
from paperscope.ids import author_key
from paperscope.models import Paper
from paperscope.recommend.mix import (
    SIGNAL_NAMES,
    InstancePrior,
    Mix,
    MixChooser,
    carried_by,
    fuse,
    library_key,
    reciprocal_ranks,
    signal_rankers,
    tie_terms,
)
from paperscope.recommend.rankers import Corpus, GraphRanker, LinearRanker, Ranker, RankFusion, Signals, fit_tfidf
from paperscope.store import Store

INSTANCE_PRIOR_SECONDS = 600  # how long the other users' stored mix evidence is kept before it is read again
AUTHOR_BOOST = 2.0  # added to a paper by a followed author: above every ranker score (shares lie in [0, 1])
TOPIC_SEEDS = 20  # a followed topic's most central papers that seed the ranking
CLOSEST_SHOWN = 2
CLOSEST_MARGIN = 0.1  # cosine
TERMS_SHOWN = 4
REFIT_SHARE = 0.25  # fold new vectors in until they are this share of the corpus, then fit TF-IDF anew

StoreMark = tuple[dt.datetime | None, int]  # (newest vector's time, papers stored): what a snapshot was read at


WINDOW_CHUNK = 10_000  # papers read at a time for a bounded corpus

CITATION_SEEDS = 50  # library papers whose citation ties are read, newest first
CITATION_TIES = 100  # ties read per library paper


def _summed(neighbours: dict[str, list[tuple[str, int]]], library: list[str]) -> dict[str, int]:
    """The ties of the papers tied to any of `library`'s papers (their entries in `neighbours`), summed."""
    ties: dict[str, int] = {}
    for paper_id in library:
        for other, count in neighbours.get(paper_id, ()):
            ties[other] = ties.get(other, 0) + count
    return ties


def _fused_with_ties(scores: np.ndarray, candidate_ids: list[str], ties: dict[str, int], k: int) -> np.ndarray:
    """The ranker's scores fused with the citation ties by reciprocal rank fusion: each candidate scores
    1/(k + its rank by the ranker) plus 1/(k + its rank by ties) when it has ties."""
    by_score = np.empty(len(scores), dtype=np.float64)
    by_score[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    fused = 1.0 / (k + by_score)
    tied = sorted((-count, paper_id) for paper_id, count in ties.items())
    tie_rank = {paper_id: rank for rank, (_, paper_id) in enumerate(tied, 1)}
    for n, paper_id in enumerate(candidate_ids):
        if paper_id in tie_rank:
            fused[n] += 1.0 / (k + tie_rank[paper_id])
    return np.where(np.isfinite(scores), fused, -np.inf)


def default_ranker() -> Ranker:
    """The fixed fusion bench/bench_recommend.py's dev users prefer (docs/benchmarks.md), the default mix of
    recommend/mix.py: reciprocal rank fusion of the linear SVM on embeddings and TF-IDF with the contrast of two
    personalised PageRank diffusions over the kNN graph of embeddings and TF-IDF."""
    return RankFusion([LinearRanker(), GraphRanker()])


@dataclass(frozen=True)
class Closest:
    id: str
    title: str
    similarity: float


@dataclass
class Why:
    """Why a paper was recommended; `text()` says it in one sentence."""

    closest: list[Closest] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    follows: list[str] = field(default_factory=list)  # e.g. 'your saved search "graph clustering"'
    topic: str | None = None
    signals: list[str] = field(default_factory=list)  # the signals that carried it (recommend/mix.py), weightiest first
    positives: str = "in your library"  # where `closest` come from

    def text(self) -> str:
        parts = []
        if self.follows:
            parts.append("matches " + " and ".join(self.follows))
        if self.closest:
            titles = " and ".join(f"\u201c{_short(c.title)}\u201d" for c in self.closest)
            parts.append(f"close to {titles} {self.positives}")
        if self.terms:
            parts.append("shared terms: " + ", ".join(self.terms))
        if self.topic:
            parts.append(f"topic: {self.topic}")
        if self.signals:
            parts.append("carried by " + " and ".join(SIGNAL_NAMES[s] for s in self.signals))
        sentence = "; ".join(parts) or "ranked high among this period's papers"
        return sentence[0].upper() + sentence[1:] + "."

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text(), "closest": [{"id": c.id, "title": c.title, "similarity": round(c.similarity, 4)}
                                                 for c in self.closest],
                "terms": self.terms, "follows": self.follows, "topic": self.topic, "signals": self.signals}


@dataclass
class Recommendation:
    paper: Paper
    score: float
    why: Why

    @property
    def id(self) -> str:
        return self.paper.id

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of `paperscope recommend --json` and /api/recommendations."""
        return {"id": self.paper.id, "score": round(self.score, 6), "why": self.why.text(),
                "title": self.paper.title, "reasons": self.why.as_dict()}


@dataclass(frozen=True)
class CorpusSnapshot:
    """The corpus as read at `mark`, with what ranking needs beside it: the fitted TF-IDF vectorizer and the
    papers' titles. `folded`: rows added or replaced since the vectorizer was fit."""

    corpus: Corpus
    vectorizer: Any
    titles: dict[str, str]
    mark: StoreMark
    folded: int = 0
    window: int | None = None  # the newest papers it holds (beside the users' marks); None: every embedded paper


class Recommender:
    """Ranks papers for users of one store; build once, ask for many users."""

    def __init__(self, store: Store, settings: Settings, *, embedder: Embedder | None = None,
                 ranker: Ranker | None = None, refresh_on_read: bool = True, citations: bool = True) -> None:
        self.store = store
        self.settings = settings
        # None: each user's own signal mix (recommend/mix.py); a ranker given ranks every user alike.
        self.ranker = ranker
        self.rankers = signal_rankers()
        # The choice ranks samples of the period with its own rankers, so their per-corpus caches (the period's
        # kNN graph above all) are not swapped out under the ranking's.
        self.chooser = MixChooser(signal_rankers())
        self.citations = citations  # fuse the papers tied to the library by citations (bench_citations.py)
        self.refresh_on_read = refresh_on_read
        self._embedder = embedder
        self._topics: tuple[tuple[object, ...], dict[str, int], dict[int, str]] | None = None
        self._snapshot: CorpusSnapshot | None = None
        self._instance: tuple[float, InstancePrior] | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from paperscope.embed import get_embedder

            self._embedder = get_embedder(self.settings.embedding_model)
        return self._embedder

    @property
    def corpus(self) -> Corpus:
        """Every embedded paper: vectors and TF-IDF rows (`snapshot`'s corpus)."""
        return self.snapshot.corpus

    @property
    def snapshot(self) -> CorpusSnapshot:
        """The corpus snapshot ranking uses: loaded on first use, then brought up to date on each read when
        `refresh_on_read`, else as last given to `use`."""
        current = self._snapshot
        if current is None or (self.refresh_on_read and not self.is_current(current)):
            current = self._snapshot = self.load_corpus(current)
        return current

    @property
    def loaded(self) -> CorpusSnapshot | None:
        """The snapshot in use, None before the first load."""
        return self._snapshot

    def use(self, snapshot: CorpusSnapshot) -> None:
        """Rank with `snapshot` from now on (a ranking under way keeps the one it started with)."""
        self._snapshot = snapshot

    def store_mark(self) -> StoreMark:
        return self.store.latest_embedding_time(self.embedder.name), self.store.count_papers()

    def is_current(self, snapshot: CorpusSnapshot) -> bool:
        """Whether the store still holds the vectors and papers `snapshot` was read from (two short queries)."""
        return snapshot.mark == self.store_mark()

    def load_corpus(self, previous: CorpusSnapshot | None = None) -> CorpusSnapshot:
        """A snapshot of the store as it is now: `previous` with the vectors stored since folded in, or read
        anew (the first time, when papers went away, or past `REFIT_SHARE`). `previous` is left as it was."""
        mark = self.store_mark()
        if previous is not None and previous.vectorizer is not None and previous.mark[0] is not None \
                and mark[0] is not None and mark[1] >= previous.mark[1]:
            folded = self._fold(previous, mark)
            if folded is not None:
                return folded
        return self._build_corpus(mark)

    def _build_corpus(self, mark: StoreMark) -> CorpusSnapshot:
        window = self.settings.recommend_corpus_papers
        if mark[1] > window:
            return self._build_window(mark, window)
        ids, vectors = self.store.load_embeddings(self.embedder.name)
        papers = self.store.get_papers(ids, include_hidden=True)  # hidden ones are left out when ranking
        keep = [k for k, i in enumerate(ids) if i in papers]  # a paper merged away since its vector was stored
        ids = [ids[k] for k in keep]
        vectors = vectors[keep] if keep else np.zeros((0, self.embedder.dim), dtype=np.float32)
        titles = {i: papers[i].title for i in ids}
        vectorizer, tfidf, terms = _fitted_tfidf([document_text(papers[i]) for i in ids])
        corpus = Corpus(ids, np.ascontiguousarray(vectors, dtype=np.float32), tfidf, terms)
        return CorpusSnapshot(corpus, vectorizer, titles, mark)

    def _build_window(self, mark: StoreMark, window: int) -> CorpusSnapshot:
        """The newest `window` papers and every user's marked papers, read by id in chunks."""
        wanted = list(dict.fromkeys(self.store.papers_added_since(None, limit=window) + self._marked_ids()))
        ids: list[str] = []
        blocks: list[np.ndarray] = []
        texts: list[str] = []
        titles: dict[str, str] = {}
        for start in range(0, len(wanted), WINDOW_CHUNK):
            chunk = wanted[start:start + WINDOW_CHUNK]
            found = self.store.get_embeddings(chunk, self.embedder.name)
            papers = self.store.get_papers([i for i in chunk if i in found], include_hidden=True)
            chunk_ids = [i for i in chunk if i in found and i in papers]
            ids += chunk_ids
            if chunk_ids:
                blocks.append(np.vstack([found[i] for i in chunk_ids]).astype(np.float32))
            texts += [document_text(papers[i]) for i in chunk_ids]
            titles.update((i, papers[i].title) for i in chunk_ids)
        vectors = np.vstack(blocks) if blocks else np.zeros((0, self.embedder.dim), dtype=np.float32)
        vectorizer, tfidf, terms = _fitted_tfidf(texts)
        corpus = Corpus(ids, np.ascontiguousarray(vectors), tfidf, terms)
        return CorpusSnapshot(corpus, vectorizer, titles, mark, window=window)

    def _marked_ids(self) -> list[str]:
        """Every paper some user saved, voted for or hid."""
        accounts = self.store.accounts
        marked: list[str] = []
        for user in accounts.list_users():
            marked += accounts.library_ids(user.id, "saved") + accounts.voted_ids(user.id)
            marked += accounts.library_ids(user.id, "hidden")
        return marked

    def _with_rows(self, snapshot: CorpusSnapshot, paper_ids: Iterable[str]) -> CorpusSnapshot:
        """`snapshot` with the vectors and TF-IDF rows of those of `paper_ids` it lacks, read by id (for one
        ranking); `snapshot` itself when it lacks none or holds every embedded paper."""
        corpus = snapshot.corpus
        missing = [i for i in dict.fromkeys(paper_ids) if i not in corpus.row]
        if snapshot.window is None or not missing:
            return snapshot
        found = self.store.get_embeddings(missing, self.embedder.name)
        papers = self.store.get_papers([i for i in missing if i in found], include_hidden=True)
        extra = [i for i in missing if i in found and i in papers]
        if not extra:
            return snapshot
        vectors = np.vstack([corpus.vectors, np.vstack([found[i] for i in extra]).astype(np.float32)])
        tfidf = corpus.tfidf
        if tfidf is not None and snapshot.vectorizer is not None:
            tfidf = sp.vstack([tfidf, snapshot.vectorizer.transform([document_text(papers[i]) for i in extra])],
                              format="csr")
        titles = {**snapshot.titles, **{i: papers[i].title for i in extra}}
        return dataclasses.replace(snapshot, corpus=Corpus(corpus.ids + extra, vectors, tfidf, corpus.terms),
                                   titles=titles)

    def _fold(self, previous: CorpusSnapshot, mark: StoreMark) -> CorpusSnapshot | None:
        """`previous` with the vectors stored after its mark (new papers appended, re-embedded ones moved to
        the end with their new rows); None when a full read is due instead."""
        new_ids: list[str] = []
        blocks: list[np.ndarray] = []
        for batch_ids, block in self.store.iter_embeddings(self.embedder.name, since=previous.mark[0],
                                                           until=mark[0]):
            new_ids += batch_ids
            blocks.append(block)
        old = previous.corpus
        folded = previous.folded + len(new_ids)
        if folded > REFIT_SHARE * max(len(old.ids), 1) or old.tfidf is None:
            return None
        papers = self.store.get_papers(new_ids, include_hidden=True)
        arriving = [k for k, i in enumerate(new_ids) if i in papers]
        if not arriving:
            return CorpusSnapshot(old, previous.vectorizer, previous.titles, mark, folded, previous.window)
        ids = [new_ids[k] for k in arriving]
        incoming = set(ids)
        keep = [row for row, i in enumerate(old.ids) if i not in incoming]
        vectors = np.vstack([old.vectors[keep], np.vstack(blocks)[arriving]]).astype(np.float32)
        tfidf = sp.vstack([old.tfidf[keep], previous.vectorizer.transform([document_text(papers[i]) for i in ids])],
                          format="csr")
        corpus = Corpus([old.ids[row] for row in keep] + ids, np.ascontiguousarray(vectors), tfidf, old.terms)
        titles = {**previous.titles, **{i: papers[i].title for i in ids}}
        return CorpusSnapshot(corpus, previous.vectorizer, titles, mark, folded, previous.window)

    def period_candidates(self, user_id: int, since: dt.datetime | None = None) -> list[str]:
        """The papers of "this period" for a user: stored after `since`, by default after the user's last
        digest, or every stored paper before the first one; the newest `recommend_corpus_papers` of them at
        most (the corpus holds no more)."""
        if since is None:
            subscription = self.store.digests.get_subscription(user_id)
            since = subscription.last_digest_at if subscription else None
        return self.store.papers_added_since(since, limit=self.settings.recommend_corpus_papers)

    def topic_labels(self) -> tuple[dict[str, int], dict[int, str]]:
        """(paper id -> main topic id, topic id -> label) of the current topic map; empty without one."""
        current = self.store.topics.current_map()
        if current is None:
            return {}, {}
        mark = (current.id, current.n_papers, current.n_topics)  # assign_new recounts n_papers
        if self._topics is None or self._topics[0] != mark:
            topic_of = {a.paper_id: a.topic_id for a in self.store.topics.assignments() if a.topic_id is not None}
            labels = {t.id: t.label for t in self.store.topics.list_topics()}
            self._topics = (mark, topic_of, labels)
        return self._topics[1], self._topics[2]

    # Ranking -------------------------------------------------------------------------------

    def recommend(self, user_id: int, *, candidates: Iterable[str] | None = None, limit: int = 10,
                  exclude: Iterable[str] = (), tag: str | None = None) -> list[Recommendation]:
        """The best `limit` papers for a user among `candidates` (default: every embedded paper), never one
        from the user's library, hidden papers or `exclude`. With `tag`, that tag's papers alone are what the
        ranking learns from (arxiv-sanity's per-tag recommendations): the rest of the library and the follows
        do not steer it."""
        accounts = self.store.accounts
        library_ids = list(dict.fromkeys(accounts.library_ids(user_id, "saved") + accounts.voted_ids(user_id)))
        hidden_ids = accounts.library_ids(user_id, "hidden")
        positives_ids = library_ids if tag is None else self.tagged(user_id, tag, hidden_ids)
        follows = self.store.digests.follows_of(user_id) if tag is None else []
        queries = [f.value for f in follows if f.kind == "query"]
        authors = [f.value for f in follows if f.kind == "author"]
        author_records = [int(f.value) for f in follows if f.kind == "author_id" and f.value.isdigit()]
        topics = [int(f.value) for f in follows if f.kind == "topic" and f.value.isdigit()]
        if not positives_ids and not queries and not authors and not author_records and not topics:
            raise NothingToGoOn("This user has no saved or upvoted papers and follows nothing yet, so there is "
                                "nothing to recommend from.", fix=Fix.SEED_RECOMMENDATIONS)
        snapshot = self.snapshot  # one snapshot for the whole ranking, whatever `use` does meanwhile
        corpus = snapshot.corpus
        skip = set(library_ids) | set(positives_ids) | set(hidden_ids) | set(exclude)
        pool = corpus.ids if candidates is None else [i for i in dict.fromkeys(candidates) if i in corpus.row]
        mine = [i for i in pool if i not in skip]
        if not mine:
            return []
        topic_of, topic_label = self.topic_labels()
        followed_topics = {t: topic_label[t] for t in topics if t in topic_label}
        topic_seeds = [p for t in followed_topics for p in self.store.topics.paper_ids(t, limit=TOPIC_SEEDS)]
        snapshot = self._with_rows(snapshot, positives_ids + hidden_ids + topic_seeds)
        corpus = snapshot.corpus
        library = corpus.rows(positives_ids)
        signals = Signals(corpus.rows(set(positives_ids) | set(topic_seeds)), corpus.rows(hidden_ids),
                          corpus.rows(mine), pool=corpus.rows(pool) if candidates is not None else None)
        if queries:
            signals.query_vectors = np.vstack([self.embedder.embed_query(q) for q in queries]).astype(np.float32)
            if snapshot.vectorizer is not None:
                signals.query_tfidf = snapshot.vectorizer.transform(queries).tocsr()
        candidate_ids = [corpus.ids[r] for r in signals.candidates]
        neighbours = self._citation_neighbours(positives_ids) if self.citations else {}
        ties = _summed(neighbours, positives_ids)
        ranked = len(signals.positives) > 0 or signals.query_vectors is not None
        terms: dict[str, np.ndarray] = {}
        mix: Mix | None = None
        if self.ranker is not None:
            scores = self.ranker.scores(corpus, signals) if ranked else np.zeros(len(signals.candidates))
            if ties:  # papers tied by citations to the library rise as a second ranking in a fusion (0077)
                scores = _fused_with_ties(scores, candidate_ids, ties, self.settings.rrf_k)
        else:
            mix = (self.mix_of(user_id, snapshot, library, hidden_ids, positives_ids, signals, neighbours)
                   if tag is None else self.stored_mix(user_id))
            if ranked:
                terms = {name: reciprocal_ranks(ranker.scores(corpus, signals), self.settings.rrf_k)
                         for name, ranker in self.rankers.items() if mix.weights[name] > 0}
            if ties and mix.weights["citations"] > 0:
                terms["citations"] = tie_terms(candidate_ids, ties, self.settings.rrf_k)
            scores = fuse(terms, mix.weights) if terms else np.zeros(len(signals.candidates))
        author_keys = {author_key(a): a for a in authors}
        # Every candidate's authors are read only to match followed author names; otherwise only the papers
        # shown are read (`_shown`), which is what skips a paper hidden by an admin or merged away.
        papers = self.store.get_papers(candidate_ids) if author_keys else {}
        if author_keys and len(papers) < len(candidate_ids):
            scores = np.where([i in papers for i in candidate_ids], scores, -np.inf)
        by_record = self._papers_of_followed_authors(author_records)
        followed_author: dict[str, str] = {}
        if author_keys or by_record:
            scores = scores.copy()
            for k, paper_id in enumerate(candidate_ids):
                paper = papers.get(paper_id)
                match = next((author_keys[key] for key in (author_key(a) for a in paper.authors) if key in author_keys),
                             None) if paper else None
                match = match or by_record.get(paper_id)
                if match:
                    followed_author[paper_id] = match
                    scores[k] += AUTHOR_BOOST
            if not len(signals.positives) and signals.query_vectors is None:
                keep = [k for k, i in enumerate(candidate_ids) if i in followed_author]
                scores = np.where(np.isin(np.arange(len(scores)), keep), scores, -np.inf)
        order, papers = self._shown(candidate_ids, scores, limit, papers)
        results = []
        for k in order:
            paper_id = candidate_ids[k]
            why = self._why(snapshot, signals, library, int(signals.candidates[k]), queries)
            if tag is not None:
                why.positives = f"among your papers tagged \u201c{tag}\u201d"
            if paper_id in followed_author:
                why.follows.append(f"your followed author {followed_author[paper_id]}")
            if paper_id in ties:
                why.follows.append("cited together with, or citing the same papers as, your library")
            if mix is not None:
                why.signals = carried_by(terms, mix.weights, int(k))
            topic = topic_of.get(paper_id)
            if topic in followed_topics:
                why.follows.append(f"your followed topic \u201c{followed_topics[topic]}\u201d")
            why.topic = topic_label.get(topic) if topic is not None else None
            results.append(Recommendation(papers[paper_id], float(scores[k]), why))
        return results

    def _shown(self, candidate_ids: list[str], scores: np.ndarray, limit: int, papers: dict[str, Paper]
               ) -> tuple[list[int], dict[str, Paper]]:
        """The best `limit` candidates (numbers into `candidate_ids`) that the store shows, best first, with their
        papers: read in growing batches down the ranking, from `papers` where it holds them already."""
        order = [int(k) for k in np.argsort(-scores, kind="stable") if np.isfinite(scores[k])]
        shown: list[int] = []
        start, batch = 0, 2 * limit + 20
        while len(shown) < limit and start < len(order):
            chunk = order[start:start + batch]
            unread = [candidate_ids[k] for k in chunk if candidate_ids[k] not in papers]
            if unread:  # an admin's hidden papers and papers merged away are not returned, so not shown
                papers = {**papers, **self.store.get_papers(unread)}
            shown += [k for k in chunk if candidate_ids[k] in papers][:limit - len(shown)]
            start, batch = start + len(chunk), batch * 4
        return shown, papers

    def tagged(self, user_id: int, tag: str, hidden_ids: list[str]) -> list[str]:
        """The papers the user gave `tag` and has not hidden since; an `InputError` naming their tags when they
        have no such tag."""
        tags = self.store.accounts.tags_of(user_id)
        if tag not in tags:
            known = (", ".join(f"\u201c{t}\u201d" for t in tags)
                     or "none yet (tag papers on their pages, or with paperscope library tag)")
            raise InputError(f"There is no tag \u201c{tag}\u201d in this library; its tags: {known}.")
        hidden = set(hidden_ids)
        papers = [paper_id for paper_id in tags[tag] if paper_id not in hidden]
        if not papers:
            raise InputError(f"Every paper tagged \u201c{tag}\u201d is marked \u201cnot interested\u201d, so the "
                             "tag has nothing to rank from: save one of them again, or tag other papers.")
        return papers

    def stored_mix(self, user_id: int) -> Mix:
        """The mix picked for the user's whole library (picked again beside the other users' evidence), else the
        instance's: what ranks a tag's papers, too few to weigh a mix of their own."""
        stored = self.store.accounts.signal_mix(user_id)
        prior = self.instance().for_user(user_id)
        return self.chooser.repick(Mix.from_dict(stored[1]), prior) if stored else self.chooser.instance_mix(prior)

    def mix_of(self, user_id: int, snapshot: CorpusSnapshot, library: np.ndarray, hidden_ids: list[str],
               positives_ids: list[str], signals: Signals, neighbours: dict[str, list[tuple[str, int]]]) -> Mix:
        """The user's signal mix, picked from the evidence of their library beside the other users' (`instance`):
        the evidence stored for this very library, else weighed now from it and stored."""
        key = library_key(positives_ids, hidden_ids)
        stored = self.store.accounts.signal_mix(user_id)
        instance = self.instance()
        if stored is not None and stored[0] == key:
            return self.chooser.repick(Mix.from_dict(stored[1]), instance.for_user(user_id))
        if len(library) < self.chooser.min_library:
            mix = self.chooser.instance_mix(instance.for_user(user_id))
        else:
            corpus = snapshot.corpus
            own = Signals(library, signals.negatives, signals.candidates, signals.query_vectors, signals.query_tfidf,
                          pool=signals.shared_pool())

            def ties_of(rows: np.ndarray) -> dict[str, int]:
                return _summed(neighbours, [corpus.ids[int(r)] for r in rows])

            mix = self.chooser.choose(corpus, own, ties_of if neighbours else None, instance.for_user(user_id))
        self.store.accounts.save_signal_mix(user_id, key, mix.as_dict())
        instance.put(user_id, mix.evidence)
        return mix

    def instance(self) -> InstancePrior:
        """The evidence every user's library gave of each mix (`Mix.evidence`), read from the store at most once
        per `INSTANCE_PRIOR_SECONDS` (other processes add to it) and kept up to date with this one's choices."""
        now = time.monotonic()
        if self._instance is None or now - self._instance[0] > INSTANCE_PRIOR_SECONDS:
            self._instance = (now, InstancePrior.of(self.store.accounts.signal_mixes()))
        return self._instance[1]

    def _citation_neighbours(self, library: list[str]) -> dict[str, list[tuple[str, int]]]:
        """The stored papers tied by citations (co-citation, bibliographic coupling) to each of the library's
        CITATION_SEEDS newest papers, with their ties; papers without ties are left out."""
        found = {}
        for paper_id in library[:CITATION_SEEDS]:
            tied = self.store.citation_neighbours(paper_id, limit=CITATION_TIES)
            if tied:
                found[paper_id] = list(tied)
        return found

    def _papers_of_followed_authors(self, author_ids: list[int]) -> dict[str, str]:
        """The stored papers of followed author records, each with the name of (one of) its followed authors."""
        names: dict[str, str] = {}
        for author_id in author_ids:
            author = self.store.authors.get_author(author_id)
            if author is not None:
                for paper_id in self.store.authors.paper_ids_of([author_id]):
                    names.setdefault(paper_id, author.name)
        return names

    def _why(self, snapshot: CorpusSnapshot, signals: Signals, library: np.ndarray, row: int, queries: list[str]
             ) -> Why:
        why = Why()
        corpus = snapshot.corpus
        vector = corpus.vectors[row]
        if len(library):
            similarity = corpus.vectors[library] @ vector
            order = np.argsort(-similarity)[:CLOSEST_SHOWN]
            for k in order:
                if similarity[k] < similarity[order[0]] - CLOSEST_MARGIN:
                    break  # name a second paper only when it is nearly as close as the first
                paper_id = corpus.ids[int(library[k])]
                why.closest.append(Closest(paper_id, snapshot.titles.get(paper_id, paper_id), float(similarity[k])))
        if signals.query_vectors is not None:
            fits = signals.query_vectors @ vector
            best = int(np.argmax(fits))
            why.follows.append(f"your saved search \u201c{queries[best]}\u201d")
        if corpus.tfidf is not None and corpus.terms is not None:
            profile_rows = [corpus.tfidf[signals.positives]] if len(signals.positives) else []
            if signals.query_tfidf is not None:
                profile_rows.append(signals.query_tfidf)
            if profile_rows:
                profile = np.asarray(sp.vstack(profile_rows).mean(axis=0)).ravel()
                shared = corpus.tfidf[row].multiply(profile).tocoo()
                top = np.argsort(-shared.data)[:TERMS_SHOWN * 2]
                why.terms = _distinct_terms([str(corpus.terms[shared.col[i]]) for i in top])[:TERMS_SHOWN]
        return why


def _fitted_tfidf(texts: list[str]) -> tuple[Any, sp.csr_matrix | None, np.ndarray | None]:
    """`fit_tfidf`, without the vectorizer's record of the terms it cut (`stop_words_`: millions of strings on a
    large corpus, for introspection only)."""
    vectorizer, tfidf, terms = fit_tfidf(texts)
    if vectorizer is not None and hasattr(vectorizer, "stop_words_"):
        del vectorizer.stop_words_
    return vectorizer, tfidf, terms


def _distinct_terms(terms: list[str]) -> list[str]:
    """Drop a unigram when a bigram that contains it is already in the list (keeps "graph clustering")."""
    kept: list[str] = []
    for term in terms:
        if any(_same_stem(term, other) for other in kept):
            continue
        if any(term in other.split() or other in term.split() for other in kept):
            if " " in term:  # a bigram replaces the unigram it contains
                kept = [k for k in kept if k not in term.split()] + [term]
            continue
        kept.append(term)
    return kept


def _same_stem(a: str, b: str) -> bool:
    """'concept' and 'concepts', 'cluster' and 'clustering': one of them is enough."""
    if " " in a or " " in b:
        return False
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 4 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3


def _short(title: str, limit: int = 80) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "\u2026"
