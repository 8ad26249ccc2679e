"""Topic maps on collections that mix fields and on a later period with topics the earlier one lacked.

    python bench/bench_topics_unseen.py          # uses the vectors bench/topics_data.py caches

Mixed fields: arxiv/cs (17,142 computer-science papers) and SciFact (5,183 biomedical abstracts) in one
collection. paperscope's map (PPP picks k) beside scikit-learn KMeans at the same k: how cleanly the two fields
separate (V-measure against the source; the share of papers in topics that are >= 95 % one field), and the
labels of the biomedical topics.

Later period: the earlier map is built on the arxiv/cs papers listed before 2025-05-15 without two fields
(sound/speech: cs.SD, eess.AS; security: cs.CR); the later papers (all fields, from 2025-05-15) go to the
novelty finder with the earlier topics held fixed. Reported: the emerging topics with their labels and dates,
and how well they catch the two missing fields (precision: share of the emerging topics' papers from them;
recall: share of their later papers in an emerging topic) beside a baseline in the same run that flags every
later paper fitting no earlier topic (similarity to its nearest earlier centre below the lower quartile of its
own papers' similarities: the test the finder starts from, without the clustering and the silhouette check).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import v_measure_score

import topics_data
from paperscope.embed.base import document_text
from paperscope.topics import NovelTopicFinder, TopicLabeler, TopicModel
from paperscope.topics.chunks import nearest

SPLIT = dt.date(2025, 5, 15)
MISSING = {"cs.SD", "eess.AS", "cs.CR"}


def pure_share(source: np.ndarray, labels: np.ndarray, purity: float = 0.95) -> float:
    """Share of the papers that sit in a topic at least `purity` of whose papers come from one source."""
    inside = 0
    for topic in np.unique(labels):
        members = source[labels == topic]
        if max(members.mean(), 1 - members.mean()) >= purity:
            inside += len(members)
    return inside / len(labels)


def mixed(cs: topics_data.Collection, sf: topics_data.Collection) -> None:
    X = np.vstack([cs.vectors, sf.vectors])
    source = np.r_[np.zeros(len(cs.vectors)), np.ones(len(sf.vectors))]
    texts = [document_text(p) for p in cs.papers + sf.papers]
    model = TopicModel(labeler=TopicLabeler()).fit(X, texts)
    km = KMeans(model.n_topics_, random_state=0).fit_predict(X)
    print(f"Mixed fields: {len(cs.vectors):,} arxiv/cs + {len(sf.vectors):,} SciFact papers")
    for name, labels in (("paperscope (PPP)", model.labels_), (f"KMeans at k {model.n_topics_}", km)):
        print(f"  {name:22s} k {len(np.unique(labels)):3d}  V-measure vs field {v_measure_score(source, labels):.3f}"
              f"  papers in >=95 %-one-field topics {pure_share(source, labels):.3f}")
    print(f"  ratio paperscope/KMeans: V {v_measure_score(source, model.labels_) / v_measure_score(source, km):.2f}x")
    biomedical = [t for t in range(model.n_topics_) if source[model.labels_ == t].mean() >= 0.5]
    print(f"  {len(biomedical)} topics are mostly SciFact; the largest:")
    for topic in biomedical[:6]:
        print(f"    {model.labels_text_[topic]:55s} {model.sizes_[topic]:5d} papers, "
              f"{source[model.labels_ == topic].mean():.0%} SciFact")


def later_period(cs: topics_data.Collection) -> None:
    dates = np.array([p.published for p in cs.papers])
    category = np.array([p.primary_category or "" for p in cs.papers])
    missing = np.isin(category, list(MISSING))
    earlier = np.flatnonzero((dates < SPLIT) & ~missing)
    later = np.flatnonzero(dates >= SPLIT)
    texts = [document_text(p) for p in cs.papers]
    before = TopicModel().fit(cs.vectors[earlier])
    finder = NovelTopicFinder(before.centres_, before.other_thresholds_, min_topic_size=max(5, len(later) // 100))
    finder.fit(cs.vectors[later], [cs.papers[i].published for i in later])
    target = missing[later]
    print(f"\nLater period: earlier map on {len(earlier):,} papers before {SPLIT} without {', '.join(sorted(MISSING))} "
          f"({before.n_topics_} topics); {len(later):,} later papers, {target.sum()} of them from those fields")
    flagged = np.zeros(len(later), dtype=bool)
    labels = np.full(len(later), -1)
    for j, members in enumerate(finder.novel_members_):
        flagged[members] = True
        labels[members] = j
    if finder.n_novel_:
        labeler = TopicLabeler().fit([texts[i] for i in later], labels, np.ones(len(later)))
        for j, members in enumerate(finder.novel_members_):
            counts = {c: int((category[later[members]] == c).sum()) for c in np.unique(category[later[members]])}
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
            print(f"  emerging since {finder.emerged_at_[j]}: {labeler.labels_text_[j]:45s} {len(members):4d} papers "
                  f"({', '.join(f'{c} {n}' for c, n in top)})")
    known, score = nearest(cs.vectors[later], before.centres_)
    misfit = score < before.other_thresholds_[known]
    for name, chosen in (("paperscope emerging topics", flagged), ("baseline: every misfit paper", misfit)):
        precision = target[chosen].mean() if chosen.any() else 0.0
        recall = chosen[target].mean()
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        print(f"  {name:30s} flags {chosen.sum():5d}  precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
    p_ours, p_base = target[flagged].mean() if flagged.any() else 0.0, target[misfit].mean()
    print(f"  ratio of precision paperscope/baseline: {p_ours / max(p_base, 1e-9):.2f}x")


def main() -> None:
    cs, sf = topics_data.arxiv_cs(), topics_data.scifact()
    mixed(cs, sf)
    later_period(cs)


if __name__ == "__main__":
    main()
