"""Topic labels without an LLM: class-based TF-IDF keyphrases, the most central papers, a one-line label.

Candidate phrases are the word 1-3-grams inside runs of words that no stop word (English and academic filler)
or punctuation breaks, as RAKE takes them: "Large Reasoning Models (LRMs)" gives "large reasoning models" and
"lrms", never "reasoning models lrms", and "detection in social media" never gives "detection social media". A
phrase is a candidate when at least `min_df` papers of some topic use it (found topic by topic, so memory stays
flat however large the collection); when papers nearly always write it inside a phrase one word longer, it is
a fragment and left out. Its occurrences per topic are weighted with TfidfTransformer across the topics, so a
phrase scores high where one topic uses it a lot and few topics do (BERTopic's c-TF-IDF idea). A phrase that
repeats a better one is folded into it: one inside the other ("gaussian splatting" in "3D Gaussian
Splatting"), the same words up to a plural, or an acronym of it ("SNN" beside "spiking neural networks"); the
longer form wins when at least half as many papers use it. Each keyword is shown in the form the abstracts
write it most ("LLM", "3D"). Topics are labelled from at most `max_docs_per_topic` of their most central papers,
which keeps the cost flat at a million papers.

The label is `label_terms` keyphrases, made distinct across topics. Given the embedding model (`embed`) and the
topics' centres, they are the pair of the `n_candidates` best keyphrases that tells the topic from the others best
(label_choice.py), and they lead the keywords; without them, the keyphrases of highest weight.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Self

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfTransformer

from paperscope.topics.label_choice import Embed, choose_labels
from paperscope.topics.representation import TopicRepresentation, ranked_members

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
specifically scenarios success successful investigate investigates offer offers capability capabilities ability
obtain obtains different recent recently focus focuses application applications framework frameworks widely
general real-world state-of-the-art remains remain crucial potential important large-scale support supports
"""
ACADEMIC_FILLER = frozenset(_FILLER_TEXT.split())
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | ACADEMIC_FILLER)
TOKEN_PATTERN = r"(?u)\b[^\W_][\w\-]*[^\W_]\b"  # two characters or more, letters of any alphabet ("moiré")


class TopicLabeler(TopicRepresentation):
    """Keyphrases (`keywords_`, spelled as the papers write them; `candidates_`: the longer, lower-cased list they
    come from), central papers (`representatives_`, row indices) and `labels_text_` per topic."""

    def __init__(self, *, n_keywords: int = 8, ngram_range: tuple[int, int] = (1, 3), label_terms: int = 2,
                 n_representatives: int = 5, max_docs_per_topic: int = 500, min_df: int = 2,
                 embed: Embed | None = None, n_candidates: int = 60) -> None:
        self.n_keywords = n_keywords
        self.embed = embed
        self.n_candidates = n_candidates
        self.ngram_range = ngram_range
        self.label_terms = label_terms
        self.n_representatives = n_representatives
        self.max_docs_per_topic = max_docs_per_topic
        self.min_df = min_df

    def fit(self, texts: Sequence[str], labels: np.ndarray, scores: np.ndarray, *,
            centres: np.ndarray | None = None, papers: tuple[np.ndarray, np.ndarray] | None = None) -> Self:
        """`labels`: topic per text (-1: none); `scores`: each text's similarity to its topic's centre;
        `centres`: the topics' centres in the space of `embed` (both needed for labels chosen by the model);
        `papers`: (unit vectors, topic of each) of papers the labels are chosen together to win."""
        self.representatives_: list[list[int]] = []
        members: list[list[str]] = []
        for ranked in ranked_members(labels, scores):
            members.append([texts[int(i)] for i in ranked[: self.max_docs_per_topic]])
            self.representatives_.append([int(i) for i in ranked[: self.n_representatives]])
        self.candidates_ = self._keywords(members)
        if self.embed is not None and centres is not None and len(centres) == len(self.candidates_):
            leads = choose_labels(self.candidates_, centres, self.embed, terms=self.label_terms, repeats=_repeats,
                                  papers=papers)
            self.candidates_ = [lead + [p for p in pool if p not in lead]
                                for lead, pool in zip(leads, self.candidates_, strict=True)]
        # Spelled as the papers write them ("LLM", "3D") only now: a regex pass per phrase over 200 papers.
        self.keywords_ = [[_surface_form(term, docs) for term in pool[: self.n_keywords]]
                          for pool, docs in zip(self.candidates_, members, strict=True)]
        self.labels_text_ = _distinct_labels(self.keywords_, self.label_terms)
        return self

    def _keywords(self, members: list[list[str]]) -> list[list[str]]:
        """The keyphrases of each topic from its papers' texts, in two passes over them: the first finds the
        phrases at least `min_df` papers of some topic use, the second counts those in every topic."""
        k = len(members)
        low, high = self.ngram_range
        vocabulary: dict[str, int] = {}
        spellings: list[dict[str, str]] = []  # per topic: phrase (plurals stripped) -> the spelling used most
        for docs in members:
            document_frequency: Counter[str] = Counter()
            written: Counter[tuple[str, str]] = Counter()
            for doc in docs:  # one word longer than shown, to tell fragments of longer phrases
                phrases = set(_phrases(doc, (low, high + 1)))
                written.update(phrases)
                document_frequency.update({key for key, _ in phrases})
            least = min(self.min_df, len(docs))
            fragments = _fragments(document_frequency, least)
            for key, count in document_frequency.items():
                if count >= least and len(key.split()) <= high and key not in fragments:
                    vocabulary.setdefault(key, len(vocabulary))
            shown: dict[str, str] = {}
            for (key, phrase), _count in written.most_common():
                if key in vocabulary:
                    shown.setdefault(key, phrase)
            spellings.append(shown)
        if not vocabulary:
            return [[] for _ in range(k)]
        rows, cols, values, counted = [], [], [], []
        for topic, docs in enumerate(members):
            papers: Counter[int] = Counter()
            occurrences: Counter[int] = Counter()
            for doc in docs:
                found = Counter(vocabulary[key] for key, _ in _phrases(doc, (low, high)) if key in vocabulary)
                papers.update(found.keys())
                occurrences.update(found)
            rows += [topic] * len(papers)
            cols += list(papers)
            values += [occurrences[c] for c in papers]
            counted += list(papers.values())
        shape = (k, len(vocabulary))
        in_papers = sparse.csr_matrix((counted, (rows, cols)), shape=shape, dtype=np.float64)
        weights = TfidfTransformer(sublinear_tf=True).fit_transform(
            sparse.csr_matrix((values, (rows, cols)), shape=shape, dtype=np.float64)).tocsr()
        terms = np.array(list(vocabulary))
        keywords = []
        for topic in range(k):
            row, used = weights.getrow(topic), in_papers.getrow(topic)
            uses = {int(i): float(n) for i, n in zip(used.indices, used.data, strict=True)}
            wanted = max(self.n_keywords, self.n_candidates)
            order = np.argsort(-row.data, kind="stable")[: wanted * 8]
            ranked = [(spellings[topic][str(terms[row.indices[i]])], float(row.data[i]), uses[int(row.indices[i])])
                      for i in order if str(terms[row.indices[i]]) in spellings[topic]]
            keywords.append(_fold(ranked)[:wanted])
        return keywords


# A phrase is a fragment of a longer one when at least this share of the papers using it use the longer one
# ("multilingual large language" of "multilingual large language models").
FRAGMENT_SHARE = 0.8


def _fragments(document_frequency: Counter[str], least: int) -> set[str]:
    """Phrases that papers nearly always write as part of a phrase one word longer."""
    found: set[str] = set()
    for term, count in document_frequency.items():
        words = term.split()
        if count < least or len(words) < 2:
            continue
        for part in (" ".join(words[:-1]), " ".join(words[1:])):
            if count >= FRAGMENT_SHARE * document_frequency.get(part, count + 1):
                found.add(part)
    return found


_SEGMENT = re.compile(r"[^\w\s\-]+|\s-+\s|-{2,}")  # punctuation (a hyphen inside a word is not) ends a phrase
_TOKEN = re.compile(TOKEN_PATTERN)
_STOP = frozenset(STOP_WORDS)


def candidate_phrases(text: str, ngram_range: tuple[int, int] = (1, 3)) -> list[str]:
    """Lower-cased word n-grams of `text` that cross no stop word and no punctuation (RAKE's candidates)."""
    return [phrase for _key, phrase in _phrases(text, ngram_range)]


def _phrases(text: str, ngram_range: tuple[int, int]) -> list[tuple[str, str]]:
    """(phrase with plurals stripped, phrase) for each candidate phrase of `text`; each word is stemmed once."""
    low, high = ngram_range
    found: list[tuple[str, str]] = []
    for segment in _SEGMENT.split(text.lower()):
        run: list[str] = []
        stems: list[str] = []
        for word in [*_TOKEN.findall(segment), ""]:  # "" closes the last run
            if word and word not in _STOP:
                run.append(word)
                stems.append(_stem(word))
                continue
            for n in range(low, min(high, len(run)) + 1):
                for i in range(len(run) - n + 1):
                    words = run[i:i + n]
                    if n == 1 or len(set(words)) == n:  # 'learning contrastive learning' is no phrase
                        found.append((" ".join(stems[i:i + n]), " ".join(words)))
            run, stems = [], []
    return found


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A light plural strip, enough to see 'jailbreak', 'jailbreaks' and 'jailbreaking' as one word."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith(("ches", "shes", "sses", "xes")):  # 'patches' and 'patch'
        return word[:-2]
    if len(word) > 6 and word.endswith("ing"):  # 'jailbreaking' and 'jailbreak'
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _initials(words: list[str]) -> set[str]:
    """What an acronym of these words may look like: 'snn' for 'spiking neural networks', 'llie' for 'low-light
    image enhancement', '3dgs' for '3d gaussian splatting'."""
    whole = "".join(w if w[0].isdigit() else w[0] for w in words)
    parts = "".join(p if p[0].isdigit() else p[0] for w in words for p in w.split("-") if p)
    return {whole, parts}


def _repeats(term: str, kept: str) -> bool:
    """Whether `term` says what `kept` says: one inside the other (word by word, plurals aside), or one an
    acronym of the other ("snns" for "spiking neural networks", "vla models" for "vision-language-action
    models")."""
    a, b = [_stem(w) for w in term.split()], [_stem(w) for w in kept.split()]
    if len(a) > len(b):
        a, b = b, a
    if any(b[i:i + len(a)] == a for i in range(len(b) - len(a) + 1)):
        return True
    while len(a) > 1 and len(b) > 1 and a[-1] == b[-1]:  # a shared last word: compare what comes before it
        a, b = a[:-1], b[:-1]
    raw = {_stem(w): w for w in term.split() + kept.split()}
    return any(len(short) == 1 and len(short[0]) >= 2 and short != long
               and {short[0], raw.get(short[0], short[0])} & _initials(long) for short, long in ((a, b), (b, a)))


def _fold(ranked: list[tuple[str, float, float]]) -> list[str]:
    """The best phrases (term, weight, papers using it) with no repeats among them: a phrase that repeats a kept
    one (see `_repeats`) replaces it when it is the longer form and at least half as many papers use it, else it
    is dropped."""
    chosen: list[tuple[str, float]] = []
    for term, _weight, papers in ranked:
        clash = next((i for i, (kept, _) in enumerate(chosen) if _repeats(term, kept)), None)
        if clash is None:
            chosen.append((term, papers))
            continue
        kept, kept_papers = chosen[clash]
        if len(term.split()) > len(kept.split()) and papers >= 0.5 * kept_papers:
            chosen[clash] = (term, kept_papers)
    result: list[str] = []
    for term, _ in chosen:  # a replacement may have made two entries repeat each other
        if not any(_repeats(term, other) for other in result):
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
