"""The keyword index: BM25 over title and abstract with stemming, phrases and prefixes (tantivy).

Chosen by measurement (docs/benchmarks.md): on SciFact it ranks as well as bm25s and SQLite FTS5
(nDCG@10 0.687 / 0.686 / 0.690), and unlike bm25s it is persisted and updated incrementally; at 100k
papers it answers in 1.0 ms (p50) where FTS5 took 21.6 ms.

The index lives in a folder of its own beside the database. Each paper is one document with its id, an integer
key (a fast field), its title (a field of its own) and `text` (title and abstract); the key's paper id and title
are in the folder's document table (index/keyword_documents.py), which turns hits into paper ids and gives the
titles whose BM25 is added, boosted a little (decision 0138). User queries never
reach tantivy's query parser as typed: `parse_user_query` keeps only words, quoted phrases and `prefix*`
terms, so no input can cause a syntax error. An index of a million papers or more scores a query's selective
words: not the words in a fifth of the papers when rarer ones remain, at most the 12 rarest (decision 0136).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from paperscope.errors import Fix, IndexBusy, StoreError, require_extra
from paperscope.index.keyword_documents import DocumentTable
from paperscope.models import Paper

FORMAT_VERSION = 2  # 2: the key fast field and the document table (decision 0138)
TITLE_BOOST = 0.2  # on top of the title's words in `text`; measured best on SciFact (0.2-0.5)
MAX_QUERY_TERMS = 64  # a pasted abstract as a query keeps its first 64 words
#: In an index of SELECTIVE_FROM papers or more, a word in COMMON_SHARE of them or more is left out of a query that
#: has rarer words, and of a long query only the MAX_SCORED_WORDS rarest words are scored (decision 0136: a sentence
#: as the query is answered 2.5x faster at 10M papers; nDCG@10 and MRR@10 within 0.003 of scoring every word).
SELECTIVE_FROM = 1_000_000
COMMON_SHARE = 0.2
MAX_SCORED_WORDS = 12
MIN_PREFIX_CHARS = 2
BM25_K1 = 1.2  # tantivy's BM25 parameters, which the title part repeats
BM25_B = 0.75
_META = "paperscope-keyword.json"
_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"(\w+)(\*?)")
_STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has", "have", "how",
    "in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to", "was", "were",
    "what", "when", "which", "who", "why", "with",
])


@dataclass
class ParsedQuery:
    """What `build_query` understood of a user query."""

    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases or self.prefixes)

    def as_query_string(self) -> str:
        """A tantivy query string that uses no operator but phrase quotes."""
        parts = list(self.words)
        parts += ['"' + " ".join(words) + '"' for words in self.phrases]
        return " ".join(parts)


def parse_user_query(text: str) -> ParsedQuery:
    """Words, "quoted phrases" and prefix* terms of a query; every other character is ignored."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text).lower()
    parsed = ParsedQuery()
    budget = MAX_QUERY_TERMS
    for phrase in _PHRASE.findall(text):
        words = [w for w, _ in _WORD.findall(phrase)][:budget]
        budget -= len(words)
        if len(words) > 1:
            parsed.phrases.append(words)
        elif words:
            parsed.words.extend(words)
    rest = _PHRASE.sub(" ", text)
    kept: list[str] = []
    stop: list[str] = []
    for word, star in _WORD.findall(rest):
        if budget <= 0:
            break
        budget -= 1
        if star and len(word) >= MIN_PREFIX_CHARS:
            parsed.prefixes.append(word)
        else:
            (stop if word in _STOPWORDS else kept).append(word)
    parsed.words.extend(kept or stop)  # a query of stop words only ("the who") still searches for them
    return parsed


class KeywordIndex:
    """A tantivy BM25 index of papers in `path`, with the modification watermark it is current to.

    An index written by another version of paperscope is emptied when `replace_other_format` is set (the writer's
    next refresh fills it again from the store), else opening it raises StoreError."""

    def __init__(self, path: Path, *, replace_other_format: bool = False,
                 selective_from: int = SELECTIVE_FROM) -> None:
        self._tantivy = require_extra("tantivy", "search", "The keyword index")
        self.path = path
        self.selective_from = selective_from
        self._lock = threading.Lock()
        self._writer: Any = None
        meta = self._read_meta()
        if meta is not None and meta.get("format") != FORMAT_VERSION:
            if not replace_other_format:
                raise StoreError(f"The keyword index in {path} was written by another version of paperscope.",
                                 fix=Fix.REBUILD_INDEX)
            shutil.rmtree(path, ignore_errors=True)
            meta = None
        self.watermark: str | None = meta.get("watermark") if meta else None
        self._commit: str | None = meta.get("commit") if meta else None
        self._index = self._open()
        self._documents = DocumentTable(path)
        tantivy = self._tantivy  # the "en_stem" analyzer of the text fields, to look up a query word's frequency
        self._stemmer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(
            tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase()).filter(
            tantivy.Filter.stemmer("english")).build()

    def _schema(self) -> Any:
        builder = self._tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=False, tokenizer_name="raw", index_option="basic")
        builder.add_unsigned_field("key", stored=False, indexed=False, fast=True)
        builder.add_text_field("title", stored=False, tokenizer_name="en_stem")  # its word frequencies
        builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
        return builder.build()

    def _open(self) -> Any:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            return self._tantivy.Index(self._schema(), path=str(self.path))
        except ValueError as exc:
            raise StoreError(f"The keyword index in {self.path} cannot be opened ({exc}).",
                             fix=Fix.REBUILD_INDEX) from exc

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = json.loads((self.path / _META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(f"The keyword index metadata in {self.path} is damaged ({exc}).",
                             fix=Fix.REBUILD_INDEX) from exc
        return meta

    def clear(self) -> None:
        """Drop every document (a rebuild starts here)."""
        with self._lock:
            self._writer = None
            self._documents.close()
            shutil.rmtree(self.path, ignore_errors=True)
            self.watermark = self._commit = None
            self._index = self._open()

    def add(self, papers: Iterable[Paper]) -> None:
        """Add or replace papers; visible to searches after `commit`."""
        papers = list(papers)
        with self._lock:
            if not self._documents.path.exists() and self._index.searcher().num_docs:
                raise self._documents.missing()  # new keys would repeat those of the documents already indexed
            writer = self._get_writer()
            keys = self._documents.add([(paper.id, paper.title, self._token_count(paper.title)) for paper in papers])
            for paper, key in zip(papers, keys, strict=True):
                writer.delete_documents_by_term("id", paper.id)
                document = self._tantivy.Document()
                document.add_text("id", paper.id)
                document.add_unsigned("key", key)
                document.add_text("title", paper.title)
                document.add_text("text", f"{paper.title} {paper.abstract}")
                writer.add_document(document)

    def delete(self, paper_ids: Iterable[str]) -> None:
        with self._lock:
            writer = self._get_writer()
            for paper_id in paper_ids:
                writer.delete_documents_by_term("id", paper_id)

    def commit(self, watermark: str | None = None) -> None:
        """Make additions searchable and remember how far the index is current."""
        with self._lock:
            if self._writer is not None:
                self._writer.commit()
                self._writer.wait_merging_threads()
                self._writer = None
            if watermark is not None:
                self.watermark = watermark
            self._commit = uuid.uuid4().hex  # tells readers in other processes to reload
            meta = {"format": FORMAT_VERSION, "watermark": self.watermark, "commit": self._commit}
            temporary = self.path / f".{_META}.tmp"
            temporary.write_text(json.dumps(meta), encoding="utf-8")
            temporary.replace(self.path / _META)
            self._index.reload()

    def reload(self) -> bool:
        """See what another process committed (a worker that writes this index); True when it changed.

        Only the small metadata file is read when nothing changed, so this is cheap enough to run before
        every search."""
        meta = self._read_meta() or {}
        if meta.get("commit") == self._commit:
            return False
        with self._lock:
            self._index.reload()
            self._documents.close()  # a rebuild made a new table
            self.watermark, self._commit = meta.get("watermark"), meta.get("commit")
        return True

    def _get_writer(self) -> Any:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
            except ValueError as exc:
                raise IndexBusy(f"The keyword index in {self.path} is being written by another process "
                                f"({exc}); wait for it to finish and try again.") from exc
        return self._writer

    def __len__(self) -> int:
        return int(self._index.searcher().num_docs)

    def search(self, query: str | ParsedQuery, limit: int, allowed: set[str] | None = None
               ) -> list[tuple[str, float]]:
        """Paper ids with BM25 scores, best first; only ids in `allowed` when it is given.

        The score is BM25 over `text` plus TITLE_BOOST times BM25 over `title`, computed in two steps: the
        best `limit` by `text` alone (a plain disjunction of terms, which tantivy answers with block-max
        WAND: 2.6x faster at 1M papers than one query over both fields, whose nested disjunctions it must
        scan in full), then the title part added for those candidates and the list re-sorted."""
        parsed = parse_user_query(query) if isinstance(query, str) else query
        if not parsed or limit <= 0 or (allowed is not None and not allowed):
            return []
        tantivy = self._tantivy
        schema = self._index.schema
        searcher = self._index.searcher()
        if searcher.num_docs >= self.selective_from:
            parsed = replace(parsed, words=self.selective_words(parsed.words, searcher))
        clauses = []
        text = parsed.as_query_string()
        if text:
            parsed_query, _errors = self._index.parse_query_lenient(text, ["text"])
            clauses.append((tantivy.Occur.Should, parsed_query))
        for prefix in parsed.prefixes:
            clauses.append((tantivy.Occur.Should, tantivy.Query.regex_query(schema, "text", f"{prefix}.*")))
        combined = clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)
        if allowed is not None:
            combined = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, combined),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(schema, "id", sorted(allowed))),
            ])
        found = self.documents_of(searcher.search(combined, limit, count=False).hits, searcher)  # no count: WAND
        if not text or not found:
            return [(paper_id, score) for paper_id, _, score in found]
        bonus = self._title_scores(parsed, [title for _, title, _ in found], searcher)
        rescored = [(paper_id, score + TITLE_BOOST * extra)
                    for (paper_id, _, score), extra in zip(found, bonus, strict=True)]
        return sorted(rescored, key=lambda hit: -hit[1])

    def documents_of(self, hits: Sequence[tuple[float, Any]], searcher: Any) -> list[tuple[str, str, float]]:
        """(paper id, title, score) of tantivy's (score, address) `hits`, in order, read by their keys from the
        document table."""
        keys = searcher.fast_field_values("key", [address for _, address in hits])
        rows = self._documents.rows(keys)
        return [(*rows[key], float(score)) for (score, _), key in zip(hits, keys, strict=True) if key in rows]

    def _token_count(self, title: str) -> int:
        return len(self._stemmer.analyze(title))

    def _title_scores(self, parsed: ParsedQuery, titles: list[str], searcher: Any) -> list[float]:
        """BM25 of each title for the query's words and phrases, as tantivy scores the title field: a word is a
        term (a phrase when it stems to several tokens), k1 1.2, b 0.75, IDF from the title field's document
        frequencies, the document count and mean title length from the document table. (tantivy stores a length
        over 40 tokens rounded, which this does not repeat.)"""
        clauses = [tokens for tokens in (self._stemmer.analyze(" ".join(phrase)) for phrase in parsed.phrases)
                   if tokens]
        clauses += [tokens for tokens in (self._stemmer.analyze(word) for word in parsed.words) if tokens]
        rows, title_tokens = self._documents.totals()
        documents = max(rows, int(searcher.num_docs), 1)
        idf: dict[str, float] = {}
        for token in {token for tokens in clauses for token in tokens}:
            frequency = searcher.doc_freq("title", token)
            idf[token] = math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
        average = title_tokens / rows if rows and title_tokens else 1.0
        scores = []
        for title in titles:
            tokens = self._stemmer.analyze(title)
            norm = BM25_K1 * (1 - BM25_B + BM25_B * len(tokens) / average)
            score = 0.0
            for clause in clauses:
                width = len(clause)
                count = sum(1 for start in range(len(tokens) - width + 1) if tokens[start:start + width] == clause)
                if count:
                    score += sum(idf[token] for token in clause) * (1 + BM25_K1) * count / (count + norm)
            scores.append(score)
        return scores

    def selective_words(self, words: list[str], searcher: Any = None) -> list[str]:
        """The words of a query that a large index scores: those that occur in it, less the ones in COMMON_SHARE of
        the papers or more when rarer words remain, and of those at most the MAX_SCORED_WORDS rarest.

        A common word adds little to BM25 (its IDF is at most 1.6) but its long posting list is most of a long
        query's time, and the rarest words of a long query decide its ranking (decision 0136)."""
        if len(words) <= 1:
            return words
        searcher = searcher or self._index.searcher()
        frequency = {word: max((searcher.doc_freq("text", token) for token in self._stemmer.analyze(word)), default=0)
                     for word in set(words)}
        present = [word for word in words if frequency[word]]
        if not present:
            return words  # nothing will match either way
        common = COMMON_SHARE * searcher.num_docs
        kept = [word for word in present if frequency[word] < common] or present
        if len(kept) > MAX_SCORED_WORDS:
            rarest = sorted(range(len(kept)), key=lambda i: frequency[kept[i]])[:MAX_SCORED_WORDS]
            kept = [kept[i] for i in sorted(rarest)]
        return kept

    def ids(self) -> Sequence[str]:
        """Every indexed paper id (for consistency checks and tests)."""
        searcher = self._index.searcher()
        hits = searcher.search(self._tantivy.Query.all_query(), max(1, searcher.num_docs)).hits
        return [paper_id for paper_id, _, _ in self.documents_of(hits, searcher)]
