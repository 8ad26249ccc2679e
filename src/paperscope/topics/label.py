"""Topic labels without an LLM: class-based TF-IDF keyphrases, the most central papers, a one-line label.

Each topic's papers are joined into one class document; word 1-3-grams are counted (scikit-learn's
CountVectorizer, English and academic-filler stop words) and weighted with TfidfTransformer across the topics,
so a phrase scores high where it is frequent in one topic and rare in the others (BERTopic's c-TF-IDF idea).
Phrases that repeat a better one ("gaussian" beside "gaussian splatting") are folded into it, and each keyword is
shown in the form the abstracts write it most ("LLM", "3D"). The label is the top keyphrases, made distinct
across topics. Topics are labelled from at most `max_docs_per_topic` of their most central papers, which keeps
the cost flat at a million papers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

# Words that say nothing about a topic in an abstract, on top of English stop words.
_FILLER_TEXT = """
paper papers propose proposed proposes proposing present presents presented introduce introduces introduced
approach approaches method methods novel result results show shows shown demonstrate demonstrates demonstrated
achieve achieves achieved achieving state art extensive experiments experiment experimental performance existing
based using use used uses new work works study studies significantly significant effectively effective
various challenging challenge challenges code available github com https http www et al outperforms
outperform improve improves improved improvement improvements furthermore additionally moreover
address addresses problem problems task tasks paradigm key including enables enable stage
superior comprehensive leveraging leverage leverages simple effectiveness efficient efficiency
"""
ACADEMIC_FILLER = frozenset(_FILLER_TEXT.split())
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | ACADEMIC_FILLER)
TOKEN_PATTERN = r"(?u)\b[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]\b"  # two characters or more


class TopicLabeler:
    """Keyphrases (`keywords_`), central papers (`representatives_`, row indices) and `labels_text_` per topic."""

    def __init__(self, *, n_keywords: int = 8, ngram_range: tuple[int, int] = (1, 3), label_terms: int = 2,
                 n_representatives: int = 5, max_docs_per_topic: int = 500, min_df: int = 2) -> None:
        self.n_keywords = n_keywords
        self.ngram_range = ngram_range
        self.label_terms = label_terms
        self.n_representatives = n_representatives
        self.max_docs_per_topic = max_docs_per_topic
        self.min_df = min_df

    def fit(self, texts: Sequence[str], labels: np.ndarray, scores: np.ndarray) -> TopicLabeler:
        """`labels`: topic per text (-1: none); `scores`: each text's similarity to its topic's centre."""
        labels = np.asarray(labels)
        k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        chosen: list[np.ndarray] = []
        self.representatives_: list[list[int]] = []
        for topic in range(k):
            members = np.flatnonzero(labels == topic)
            ranked = members[np.argsort(-scores[members], kind="stable")]
            chosen.append(ranked[: self.max_docs_per_topic])
            self.representatives_.append([int(i) for i in ranked[: self.n_representatives]])
        rows = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
        docs = [texts[int(i)] for i in rows]
        topic_of_doc = np.concatenate([np.full(len(c), t) for t, c in enumerate(chosen)]) if chosen else rows
        self.keywords_ = self._keywords(docs, topic_of_doc, k)
        self.labels_text_ = _distinct_labels(self.keywords_, self.label_terms)
        return self

    def _keywords(self, docs: list[str], topic_of_doc: np.ndarray, k: int) -> list[list[str]]:
        if k == 0 or not docs:
            return [[] for _ in range(k)]
        vectorizer = CountVectorizer(ngram_range=self.ngram_range, stop_words=STOP_WORDS,
                                     token_pattern=TOKEN_PATTERN, min_df=min(self.min_df, len(docs)))
        try:
            counts = vectorizer.fit_transform(docs)
        except ValueError:  # nothing but stop words
            return [[] for _ in range(k)]
        indicator = sparse.csr_matrix((np.ones(len(docs)), (topic_of_doc, np.arange(len(docs)))), shape=(k, len(docs)))
        class_counts = indicator @ counts
        weights = TfidfTransformer(sublinear_tf=True).fit_transform(class_counts).toarray()
        vocabulary = vectorizer.get_feature_names_out()
        keywords = []
        for topic in range(k):
            order = np.argsort(-weights[topic], kind="stable")[: self.n_keywords * 6]
            ranked = [(str(vocabulary[i]), float(weights[topic, i])) for i in order
                      if weights[topic, i] > 0 and _no_repeats(str(vocabulary[i]))]
            members = [d for d, t in zip(docs, topic_of_doc, strict=True) if t == topic]
            keywords.append([_surface_form(term, members) for term in _fold(ranked)[: self.n_keywords]])
        return keywords


def _no_repeats(term: str) -> bool:
    """'contrastive learning contrastive' is an artefact of joined abstracts, not a phrase."""
    words = term.split()
    return len(set(words)) == len(words)


def _fold(ranked: list[tuple[str, float]]) -> list[str]:
    """Keep the best phrases, letting a longer phrase replace a part of it that scores not much higher."""
    chosen: list[tuple[str, float]] = []
    for term, weight in ranked:
        words = f" {term} "
        clash = [i for i, (kept, _) in enumerate(chosen) if f" {kept} " in words or words in f" {kept} "]
        if not clash:
            chosen.append((term, weight))
            continue
        for i in clash:
            kept, kept_weight = chosen[i]
            if len(term) > len(kept) and f" {kept} " in words and weight >= 0.5 * kept_weight:
                chosen[i] = (term, kept_weight)
                break
    result: list[str] = []
    for term, _ in chosen:  # a replacement may have made two entries overlap
        if not any(f" {term} " in f" {other} " for other in result):
            result.append(term)
    return result


def _surface_form(term: str, docs: list[str]) -> str:
    """The spelling the documents use most for a lower-cased phrase ("llm" -> "LLM")."""
    pattern = re.compile(r"\b" + r"\s+".join(re.escape(w) for w in term.split()) + r"\b", re.IGNORECASE)
    forms: Counter[str] = Counter()
    for doc in docs[:200]:
        forms.update(" ".join(match.split()) for match in pattern.findall(doc))
    if not forms:
        return term
    best = forms.most_common(1)[0][0]
    return best if any(c.isupper() for c in best[1:]) or best.isupper() else term


def _distinct_labels(keywords: list[list[str]], terms: int) -> list[str]:
    """'first keyphrase, second keyphrase', extended until no two topics share a label."""
    labels: list[str] = []
    for topic, words in enumerate(keywords):
        count = min(terms, len(words)) or 0
        label = ", ".join(words[:count]) if count else f"topic {topic + 1}"
        while label.lower() in {existing.lower() for existing in labels} and count < len(words):
            count += 1
            label = ", ".join(words[:count])
        if label.lower() in {existing.lower() for existing in labels}:
            label = f"{label} ({topic + 1})"
        labels.append(label)
    return labels
