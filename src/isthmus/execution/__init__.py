"""Layer 3, execution: plan and run integrations, all-or-nothing."""

from isthmus.execution.clock import Clock, SystemClock
from isthmus.execution.models import RunObserver, RunReport, StreamCounts
from isthmus.execution.preparation import RunSettings, database_urls
from isthmus.execution.runner import run_integration

__all__ = [
    "Clock",
    "RunObserver",
    "RunReport",
    "RunSettings",
    "StreamCounts",
    "SystemClock",
    "database_urls",
    "run_integration",
]
