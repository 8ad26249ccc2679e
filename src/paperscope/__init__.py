"""paperscope: a self-hosted research-paper radar."""

__version__ = "0.1.0"
