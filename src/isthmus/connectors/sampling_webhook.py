"""Sampling a webhook stream: the payloads of the events a read would take, as stored.

Events are read from the event log (the state store, opened read-only by the dry run) after
the stream's checkpoint, in sequence order, exactly as the webhook source pages through them.
"""

from __future__ import annotations

import json

from isthmus.connectors.base import EventLog, StreamRequest
from isthmus.connectors.sampling import FieldWalk, ObservedFields


class WebhookSampler:
    def __init__(self, events: EventLog, integration: str) -> None:
        self.events = events
        self.integration = integration

    def observe(self, request: StreamRequest, limit: int) -> ObservedFields:
        after = (request.checkpoint or {}).get("after", 0)
        start = after if isinstance(after, int) and not isinstance(after, bool) else 0
        events = self.events.events_after(self.integration, request.name, start, limit)
        walk = FieldWalk(request.fields)
        for event in events:
            try:
                walk.record(json.loads(event.body))
            except ValueError:
                continue  # the read quarantines it as malformed
        walk.records = len(events)
        return walk.result(f"the payloads of {len(events)} stored event(s) after #{start}")
