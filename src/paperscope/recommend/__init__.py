"""Personal recommendations: per-user rankers over paper embeddings and keywords, each result with its reason."""

from paperscope.recommend.engine import Recommendation, Recommender, Why, default_ranker
from paperscope.recommend.rankers import Corpus, FusedRanker, GraphRanker, LinearRanker, Ranker, RankFusion, Signals

__all__ = ["Corpus", "FusedRanker", "GraphRanker", "LinearRanker", "RankFusion", "Ranker",
           "Recommendation", "Recommender", "Signals", "Why", "default_ranker"]
