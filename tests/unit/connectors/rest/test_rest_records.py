"""What the REST source makes of records: text scalars, odd shapes isolated per record,
incremental reads from a checkpoint, and the checkpoint it leaves."""

from __future__ import annotations

import datetime as dt

import pytest

from isthmus.connectors.rest.batches import greatest_cursor

INCREMENTAL = {
    "path": "/contacts",
    "record_selector": "data",
    "incremental": {"param": "updated_since", "cursor_field": "LastModifiedDate"},
}


def contact(number: int, modified: str, **extra: object) -> dict[str, object]:
    return {
        "Id": f"c{number}",
        "Email": f"c{number}@example.com",
        "LastModifiedDate": modified,
        **extra,
    }


def test_scalars_arrive_as_their_json_text_and_shapes_are_kept(mock_crm) -> None:
    record = contact(
        1,
        "2024-01-01T00:00:00Z",
        LeadScore=42.5,
        OptOut=True,
        Account={"Id": "a1", "Name": 7},
        Tags=["vip", 3],
    )
    rest = mock_crm(contacts=[record])
    [row] = rest.rows(rest.read(rest.source()))
    assert row["LeadScore"] == "42.5"
    assert row["OptOut"] == "true"
    assert row["Account"] == {"Id": "a1", "Name": "7"}
    assert row["Tags"] == ["vip", "3"]
    assert row["FirstName"] is None  # declared, absent


def test_a_value_of_the_wrong_shape_never_fails_the_batch(mock_crm) -> None:
    """An object where text is declared becomes its JSON text (the engine's rules judge it);
    text where an object is declared isolates that one record as malformed, with a reason."""
    records = [
        contact(1, "2024-01-01T00:00:00Z", LeadScore={"value": 5}),
        contact(2, "2024-01-02T00:00:00Z", Account="not an object"),
        contact(3, "2024-01-03T00:00:00Z", Tags="vip"),
        contact(4, "2024-01-04T00:00:00Z"),
        "not a record",
    ]
    rest = mock_crm(contacts=records)
    [batch] = rest.read(rest.source())
    assert rest.ids([batch]) == ["c1", "c4"]
    assert batch.positions.to_pylist() == [1, 4]
    assert batch.records.column("LeadScore").to_pylist()[0] == '{"value": 5}'
    reasons = {m.position: m.reason for m in batch.malformed}
    assert reasons == {
        2: "field 'Account' should be an object, found str",
        3: "field 'Tags' should be a list, found str",
        5: "a JSON str, not an object",
    }
    assert all(m.origin == "GET /contacts page 1" for m in batch.malformed)


def test_batches_report_fields_seen_and_bytes_read(mock_crm) -> None:
    rest = mock_crm(contacts=[contact(1, "2024-01-01T00:00:00Z", Region="EU")])
    [batch] = rest.read(rest.source())
    assert batch.observed_fields == frozenset({"Id", "Email", "LastModifiedDate", "Region"})
    assert batch.bytes_read > 50


def test_a_full_read_ends_with_the_greatest_cursor_as_checkpoint(mock_crm) -> None:
    records = [
        contact(1, "2024-03-01T10:00:00.000+0000"),
        contact(2, "2024-03-01T09:00:00-05:00"),  # 14:00 UTC: the greatest instant
        contact(3, "not a date"),
        contact(4, "2024-02-01T00:00:00Z"),
    ]
    rest = mock_crm(contacts=records, pagination="cursor", page_size=2)
    batches = rest.read(rest.source(pagination={"style": "cursor"}), INCREMENTAL, batch_size=1)
    assert [b.checkpoint for b in batches] == [
        None,
        None,
        None,
        {"cursor": records[1]["LastModifiedDate"]},
    ]


def test_an_incremental_read_asks_only_for_changes_since_the_checkpoint(mock_crm) -> None:
    records = [contact(n, f"2024-01-{n:02d}T00:00:00Z") for n in range(1, 11)]
    rest = mock_crm(contacts=records, pagination="cursor", page_size=3)
    source = rest.source(pagination={"style": "cursor"})
    checkpoint = {"cursor": "2024-01-07T00:00:00Z"}
    batches = rest.read(source, INCREMENTAL, checkpoint=checkpoint)
    assert rest.ids(batches) == ["c7", "c8", "c9", "c10"]
    assert batches[-1].checkpoint == {"cursor": "2024-01-10T00:00:00Z"}
    assert {r.query["updated_since"] for r in rest.crm.requests} == {"2024-01-07T00:00:00Z"}


def test_an_incremental_read_with_nothing_new_keeps_the_checkpoint(mock_crm) -> None:
    rest = mock_crm(contacts=[contact(1, "2024-01-01T00:00:00Z")])
    checkpoint = {"cursor": "2024-06-01T00:00:00Z"}
    batches = rest.read(rest.source(), INCREMENTAL, checkpoint=checkpoint)
    assert rest.ids(batches) == []
    assert batches[-1].checkpoint == checkpoint


def test_the_streams_declared_cursor_is_the_checkpoints_field_by_default(mock_crm) -> None:
    records = [contact(n, f"2024-01-{n:02d}T00:00:00Z") for n in range(1, 4)]
    rest = mock_crm(contacts=records)
    stream = {**INCREMENTAL, "incremental": {"param": "updated_since"}}  # no cursor_field
    batches = rest.read(rest.source(), stream, cursor="LastModifiedDate")
    assert batches[-1].checkpoint == {"cursor": "2024-01-03T00:00:00Z"}
    again = rest.read(
        rest.source(), stream, cursor="LastModifiedDate", checkpoint=batches[-1].checkpoint
    )
    assert rest.ids(again) == ["c3"]  # the API's updated_since includes the checkpoint's instant
    assert rest.crm.requests[-1].query["updated_since"] == "2024-01-03T00:00:00Z"


def test_the_first_incremental_read_sends_no_cursor(mock_crm) -> None:
    rest = mock_crm(contacts=[contact(1, "2024-01-01T00:00:00Z")])
    batches = rest.read(rest.source(), INCREMENTAL)
    assert rest.ids(batches) == ["c1"]
    assert "updated_since" not in rest.crm.requests[0].query


@pytest.mark.parametrize(
    ("values", "current", "greatest"),
    [
        (["2024-01-01T00:00:00Z", "2023-12-31T23:00:00-02:00"], None, "2023-12-31T23:00:00-02:00"),
        (["2024-01-01T00:00:00", "garbage"], "2023-01-01T00:00:00Z", "2024-01-01T00:00:00"),
        ([3, 12, 7], None, 12),
        (["b", "a"], None, "b"),
        ([None, ""], "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ([], None, None),
    ],
)
def test_the_greatest_cursor_compares_instants_numbers_or_text(
    values: list[object], current: object, greatest: object
) -> None:
    records = [{"c": v} for v in values]
    assert greatest_cursor(records, "c", current) == greatest


def test_cursor_instants_without_a_zone_are_utc() -> None:
    naive, aware = "2024-01-01T12:00:00", "2024-01-01T11:59:59+00:00"
    assert greatest_cursor([{"c": naive}, {"c": aware}], "c", None) == naive
    assert dt.datetime.fromisoformat(naive).tzinfo is None
