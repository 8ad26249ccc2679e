"""Topic maps: clusters that pick their own number, explain themselves, and flag what is new.

The pipeline, as constructor-injected parts with scikit-learn style `fit` / `predict` / `labels_`:

    reduce.py     Reducer: PCA to ~50 dimensions, rows back on the unit sphere
    ppp.py        PPP: Probabilistic Partitive Partitioning, k-means splits validated by a Gaussian mixture
    balance.py    Sinkhorn-Knopp equipartition, for topics of equal size (an option)
    ambiguity.py  cohesion per topic, separability per neighbouring pair, further topics per paper
    layout.py     Layout: the 2-D map (UMAP)
    representation.py  TopicRepresentation: the base of the two stages below, fit(texts, labels, scores)
    label.py      TopicLabeler: class-based TF-IDF keyphrases, central papers, one-line labels
    explain.py    GoalExplainer: GoalEx-style explanations by an OpenAI-compatible LLM (off by default)
    novelty.py    NovelTopicFinder: emerging topics among new papers, known centres held fixed
    model.py      TopicModel: the parts together; `assign` places new papers without refitting
    build.py      build_map / assign_new / map_json: the stored map (store/topics.py) and the CLI
    chunks.py     chunked similarity helpers that keep memory bounded

Needs the `topics` extra (scikit-learn, scipy, umap-learn): pip install 'paperscope[topics]'.
"""

from paperscope.topics.label import TopicLabeler
from paperscope.topics.layout import Layout
from paperscope.topics.model import TopicModel
from paperscope.topics.novelty import NovelTopicFinder
from paperscope.topics.ppp import PPP
from paperscope.topics.reduce import Reducer

__all__ = ["PPP", "Layout", "NovelTopicFinder", "Reducer", "TopicLabeler", "TopicModel"]
