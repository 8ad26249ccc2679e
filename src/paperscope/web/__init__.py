"""The web app and JSON API (`paperscope serve`): FastAPI, server-rendered Jinja2 pages, static files."""

from paperscope.web.app import create_app

__all__ = ["create_app"]
