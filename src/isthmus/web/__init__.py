"""Interfaces, HTTP: the app `isthmus serve` runs (webhook deliveries, for now)."""

from isthmus.web.app import create_app

__all__ = ["create_app"]
