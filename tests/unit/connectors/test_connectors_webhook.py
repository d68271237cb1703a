"""The webhook source driven directly over a real state store: events after the checkpoint,
in order and in batches, every scalar as text, bodies that do not fit as malformed records;
its options; and the Standard Webhooks signatures the endpoint checks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from isthmus.connectors import SourceBatch, SourceContext, StreamRequest, resolved, source_connector
from isthmus.connectors.base import Checkpoint, NoOptions
from isthmus.connectors.errors import EventLogMissingError
from isthmus.connectors.webhook import ORIGIN, WebhookOptions, WebhookSource
from isthmus.connectors.webhook_signing import (
    event_id_problem,
    sign,
    signature,
    signature_problem,
    signing_key,
    timestamp_problem,
)
from isthmus.errors import TerminalError
from isthmus.store import StateStore
from isthmus.types import STRING, struct_of

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
FIELDS = {"id": STRING, "age": STRING, "address": struct_of({"city": STRING})}
OPTIONS = WebhookOptions(signing_secret="${secret:hook_secret}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def deliver(store: StateStore, event_id: str, record: Any, stream: str = "contacts") -> int:
    body = record if isinstance(record, str) else json.dumps(record)
    receipt = store.add_event(
        tenant="acme",
        integration="acme-hooks",
        stream=stream,
        event_id=event_id,
        body=body,
        received_at=NOW,
    )
    return receipt.seq


def source(store: StateStore, tmp_path: Path) -> WebhookSource:
    context = SourceContext(
        options=OPTIONS,
        connection=NoOptions(),
        project_root=tmp_path,
        integration="acme-hooks",
        events=store,
    )
    return WebhookSource(context)


def request(batch_size: int = 100, checkpoint: Checkpoint | None = None) -> StreamRequest:
    return StreamRequest(
        name="contacts",
        fields=FIELDS,
        options=NoOptions(),
        primary_key="id",
        checkpoint=checkpoint,
        batch_size=batch_size,
    )


def read(store: StateStore, tmp_path: Path, **arguments: Any) -> list[SourceBatch]:
    return [resolved(b) for b in source(store, tmp_path).read(request(**arguments))]


def records(batches: list[SourceBatch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.records.to_pylist()]


def test_events_after_the_checkpoint_come_in_order_in_batches_each_with_its_checkpoint(
    store: StateStore, tmp_path: Path
) -> None:
    seqs = [deliver(store, f"msg_{n}", {"id": f"c{n}"}) for n in range(5)]
    deliver(store, "msg_other", {"id": "elsewhere"}, stream="accounts")
    batches = read(store, tmp_path, batch_size=2)
    assert [b.records.num_rows for b in batches] == [2, 2, 1]
    assert [r["id"] for r in records(batches)] == [f"c{n}" for n in range(5)]
    assert [b.positions.to_pylist() for b in batches] == [seqs[:2], seqs[2:4], seqs[4:]]
    assert [b.checkpoint for b in batches] == [
        {"after": seqs[1]},
        {"after": seqs[3]},
        {"after": seqs[4]},
    ]
    assert {b.origin for b in batches} == {ORIGIN}
    later = read(store, tmp_path, batch_size=2, checkpoint={"after": seqs[2]})
    assert [r["id"] for r in records(later)] == ["c3", "c4"]
    assert read(store, tmp_path, checkpoint={"after": seqs[4]}) == []


def test_no_events_yield_no_batch_so_the_checkpoint_stays(
    store: StateStore, tmp_path: Path
) -> None:
    assert read(store, tmp_path) == []
    assert read(store, tmp_path, checkpoint={"after": 41}) == []


def test_every_scalar_is_text_and_nested_objects_keep_their_shape(
    store: StateStore, tmp_path: Path
) -> None:
    deliver(store, "a", {"id": 7, "age": 31.5, "address": {"city": "Oslo"}, "extra": True})
    deliver(store, "b", '{\n  "id": "x",\n  "age": null\n}')  # pretty-printed: still one record
    batches = read(store, tmp_path)
    assert records(batches) == [
        {"id": "7", "age": "31.5", "address": {"city": "Oslo"}},
        {"id": "x", "age": None, "address": None},
    ]
    assert batches[0].observed_fields == frozenset({"id", "age", "address", "extra"})
    assert batches[0].bytes_read > 0


def test_a_body_that_does_not_fit_the_schema_is_a_malformed_record_naming_its_event(
    store: StateStore, tmp_path: Path
) -> None:
    good = deliver(store, "msg_good", {"id": "c1"})
    bad = deliver(store, "msg_bad", {"id": "c2", "address": "not an object"})
    last = deliver(store, "msg_last", {"id": "c3"})
    (batch,) = read(store, tmp_path)
    assert [r["id"] for r in batch.records.to_pylist()] == ["c1", "c3"]
    assert batch.positions.to_pylist() == [good, last]
    (malformed,) = batch.malformed
    assert malformed.position == bad
    assert malformed.origin == ORIGIN
    assert "'address' should be an object" in malformed.reason
    assert "msg_bad" in malformed.reason
    assert json.loads(malformed.raw) == {"id": "c2", "address": "not an object"}
    assert batch.checkpoint == {"after": last}


def test_a_read_ends_at_the_newest_event_stored_when_it_started(
    store: StateStore, tmp_path: Path
) -> None:
    first = [deliver(store, f"msg_{n}", {"id": f"c{n}"}) for n in range(3)]
    items = source(store, tmp_path).read(request(batch_size=1))
    taken = [resolved(next(items))]
    deliver(store, "msg_late", {"id": "late"})  # arrives while the run reads
    taken += [resolved(b) for b in items]
    assert [r["id"] for r in records(taken)] == ["c0", "c1", "c2"]
    assert taken[-1].checkpoint == {"after": first[-1]}
    assert [r["id"] for r in records(read(store, tmp_path, checkpoint=taken[-1].checkpoint))] == [
        "late"
    ]


def test_the_source_needs_the_event_log(tmp_path: Path) -> None:
    context = SourceContext(options=OPTIONS, connection=NoOptions(), project_root=tmp_path)
    with pytest.raises(EventLogMissingError) as caught:
        WebhookSource(context)
    assert isinstance(caught.value, TerminalError)


def test_the_registry_builds_the_webhook_source(store: StateStore, tmp_path: Path) -> None:
    connector = source_connector("webhook")
    assert connector is not None
    assert (connector.options, connector.connection, connector.stream) == (
        WebhookOptions,
        NoOptions,
        NoOptions,
    )
    deliver(store, "msg_1", {"id": "c1"})
    built = connector.factory(
        SourceContext(
            options=connector.options.model_validate({"signing_secret": "${secret:s}"}),
            connection=NoOptions(),
            project_root=tmp_path,
            integration="acme-hooks",
            events=store,
        )
    )
    assert records([resolved(b) for b in built.read(request())]) == [
        {"id": "c1", "age": None, "address": None}
    ]
    assert built.size_hint(request()) is None
    built.close()


# --- options -------------------------------------------------------------------------------


def test_options_take_defaults_and_name_the_secret() -> None:
    assert (OPTIONS.max_body_bytes, OPTIONS.tolerance_s) == (1024 * 1024, 300)
    assert OPTIONS.secret_name == "hook_secret"
    for name, field in WebhookOptions.model_fields.items():
        assert field.description, name


@pytest.mark.parametrize(
    "value", ["whsec_c2VjcmV0", "prefix ${secret:hook_secret}", "${secret:a}${secret:b}", ""]
)
def test_a_signing_secret_that_is_not_one_reference_is_refused_without_echoing_it(
    value: str,
) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookOptions(signing_secret=value)
    (error,) = caught.value.errors(include_input=False)
    assert "must be a secret reference" in error["msg"]
    if value:
        assert value not in error["msg"]


def test_options_refuse_unknown_keys_and_out_of_range_limits() -> None:
    with pytest.raises(ValidationError):
        WebhookOptions.model_validate({"signing_secret": "${secret:s}", "secret": "x"})
    with pytest.raises(ValidationError):
        WebhookOptions(signing_secret="${secret:s}", max_body_bytes=0)
    with pytest.raises(ValidationError):
        WebhookOptions(signing_secret="${secret:s}", tolerance_s=0)


# --- signatures ----------------------------------------------------------------------------


def test_signatures_match_the_standard_webhooks_reference_vector() -> None:
    # The example of the Standard Webhooks specification's reference libraries.
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_a_secret_without_the_whsec_prefix_is_its_own_bytes() -> None:
    assert signing_key("plain secret") == b"plain secret"
    with pytest.raises(ValueError, match="base64"):
        signing_key("whsec_not base64!")


def test_any_one_matching_v1_signature_authenticates_the_body() -> None:
    key = b"k"
    good = signature(key, "msg_1", 100, b"{}")
    other = signature(b"other key", "msg_1", 100, b"{}")
    assert signature_problem(key, "msg_1", "100", f"v1,{other} v1,{good}", b"{}") is None
    assert signature_problem(key, "msg_1", "100", f"v1a,{good}", b"{}") == (
        "webhook-signature holds no v1 signature"
    )
    assert signature_problem(key, "msg_1", "100", f"v1,{other}", b"{}") == "no signature matches"
    # Any change to the id, the timestamp or the body breaks the signature.
    assert signature_problem(key, "msg_2", "100", f"v1,{good}", b"{}") is not None
    assert signature_problem(key, "msg_1", "101", f"v1,{good}", b"{}") is not None
    assert signature_problem(key, "msg_1", "100", f"v1,{good}", b"{} ") is not None
    assert signature_problem(key, "msg_1", "100", "v1,ünïcode", b"{}") == "no signature matches"


def test_timestamps_beyond_the_tolerance_either_way_are_refused() -> None:
    assert timestamp_problem("1000", 1300, 300) is None
    assert timestamp_problem("1000", 700, 300) is None
    assert timestamp_problem("1000", 1301, 300) == (
        "webhook-timestamp is 301 s old, beyond the 300 s tolerance"
    )
    assert timestamp_problem("1000", 699, 300) == (
        "webhook-timestamp is 301 s in the future, beyond the 300 s tolerance"
    )
    for bad in ("", "-5", "1e9", "12.5", "\uff11\uff12\uff13", "9" * 20):
        assert timestamp_problem(bad, 1000, 300) == (
            "webhook-timestamp is not whole seconds since the epoch"
        )


def test_event_ids_are_short_printable_ascii() -> None:
    assert event_id_problem("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") is None
    assert event_id_problem("x" * 255) is None
    assert event_id_problem("x" * 256) is not None
    assert event_id_problem("has space") is not None
    assert event_id_problem("é") is not None
