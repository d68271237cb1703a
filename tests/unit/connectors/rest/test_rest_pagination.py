"""Every pagination style reads every record once, in order, in bounded batches; a body
without records where the selector points fails naming the URL and the page."""

from __future__ import annotations

import httpx
import pytest

from isthmus.connectors.rest.errors import RestResponseError

STYLES = {
    "cursor": {"style": "cursor"},
    "page_number": {"style": "page_number", "size": 10},
    "offset_limit": {"style": "offset_limit", "limit": 10},
    "link_header": {"style": "link_header"},
    "next_url": {"style": "next_url"},
}


@pytest.mark.parametrize("style", list(STYLES))
def test_each_style_reads_every_record_in_order(mock_crm, style: str) -> None:
    rest = mock_crm(pagination=style, contacts=45, page_size=10)
    batches = rest.read(rest.source(pagination=STYLES[style]), batch_size=12)
    assert rest.ids(batches) == [c["Id"] for c in rest.crm.contacts]
    assert [len(b.positions) for b in batches] == [12, 12, 12, 9]
    positions = [p for b in batches for p in b.positions.to_pylist()]
    assert positions == list(range(1, 46))
    assert batches[0].origin == "GET /contacts pages 1-2"
    assert batches[-1].origin == "GET /contacts pages 4-5"
    assert len([r for r in rest.crm.requests if r.path == "/contacts"]) == 5


def test_a_full_last_page_costs_one_more_request_for_page_numbers(mock_crm) -> None:
    rest = mock_crm(pagination="page_number", contacts=40, page_size=10)
    batches = rest.read(rest.source(pagination=STYLES["page_number"]))
    assert len(rest.ids(batches)) == 40
    assert [r.query["page"] for r in rest.crm.requests] == ["1", "2", "3", "4", "5"]


def test_a_stream_may_override_the_sources_pagination(mock_crm) -> None:
    rest = mock_crm(pagination="offset_limit", contacts=25, page_size=10)
    source = rest.source(pagination={"style": "cursor"})
    stream = {"path": "/contacts", "record_selector": "data", "pagination": STYLES["offset_limit"]}
    assert len(rest.ids(rest.read(source, stream))) == 25
    assert [r.query["offset"] for r in rest.crm.requests] == ["0", "10", "20"]


def test_static_params_go_with_every_page(mock_crm) -> None:
    rest = mock_crm(pagination="link_header", contacts=25, page_size=10)
    stream = {"path": "contacts", "record_selector": "data", "params": {"active": True}}
    rest.read(rest.source(pagination={"style": "link_header"}), stream)
    assert [r.query.get("active") for r in rest.crm.requests] == ["true"] * 3


@pytest.mark.parametrize(
    ("envelope", "selector", "style"),
    [("data", "data", "cursor"), ("data.items", "data.items", "cursor"), ("", "", "link_header")],
)
def test_the_record_selector_finds_records_at_any_depth(
    mock_crm, envelope: str, selector: str, style: str
) -> None:
    rest = mock_crm(envelope=envelope, pagination=style, contacts=25, page_size=10)
    stream = {"path": "/contacts", "record_selector": selector}
    batches = rest.read(rest.source(pagination=STYLES[style]), stream)
    assert rest.ids(batches) == [c["Id"] for c in rest.crm.contacts]


@pytest.mark.parametrize(("selector", "found"), [("records", "nothing"), ("data.0", "nothing")])
def test_a_selector_that_finds_no_list_is_an_error_naming_url_and_page(
    mock_crm, selector: str, found: str
) -> None:
    rest = mock_crm(auth="api_key_query", pagination="page_number", contacts=5)
    source = rest.source(pagination=STYLES["page_number"])
    with pytest.raises(RestResponseError) as caught:
        rest.read(source, {"path": "/contacts", "record_selector": selector})
    message = caught.value.message
    assert f"has {found} at {selector!r}, not a list of records" in message
    assert f"page 1 (GET {rest.crm.url}/contacts?page=1&per_page=10&api_key=***)" in message
    assert "record_selector" in (caught.value.hint or "")


def test_a_body_that_is_an_object_where_a_list_is_expected_is_an_error(mock_crm) -> None:
    rest = mock_crm(contacts=5)
    with pytest.raises(RestResponseError, match="has a JSON object at the body"):
        rest.read(rest.source(), {"path": "/contacts", "record_selector": ""})


def test_an_empty_resource_yields_one_empty_batch(mock_crm) -> None:
    rest = mock_crm(contacts=[], pagination="cursor")
    batches = rest.read(rest.source(pagination={"style": "cursor"}))
    assert [b.records.num_rows for b in batches] == [0]
    assert batches[0].records.column_names[:3] == ["Id", "FirstName", "LastName"]
    assert batches[0].checkpoint is None  # no cursor field: nothing to remember


def _transport(pages: dict[str, httpx.Response]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return pages[str(request.url)]

    return httpx.MockTransport(handle)


def test_a_next_url_on_another_host_is_not_followed(mock_crm) -> None:
    """Credentials go only to the connection's base_url."""
    rest = mock_crm(contacts=1)
    page = {"data": [{"Id": "a"}], "next": "https://elsewhere.example/p2"}
    transport = _transport({f"{rest.crm.url}/contacts": httpx.Response(200, json=page)})
    source = rest.source(pagination={"style": "next_url"}, transport=transport)
    with pytest.raises(RestResponseError, match="leaves the API's host"):
        rest.read(source)


def test_a_cursor_that_does_not_move_is_an_error(mock_crm) -> None:
    rest = mock_crm(contacts=1)
    page = {"data": [{"Id": "a"}], "next_cursor": "same"}
    again = {"data": [{"Id": "b"}], "next_cursor": "same"}
    transport = _transport(
        {
            f"{rest.crm.url}/contacts": httpx.Response(200, json=page),
            f"{rest.crm.url}/contacts?cursor=same": httpx.Response(200, json=again),
        }
    )
    source = rest.source(pagination={"style": "cursor"}, transport=transport)
    with pytest.raises(RestResponseError, match="returned the cursor it was sent"):
        rest.read(source)


def test_page_numbers_the_api_ignores_are_an_error_not_an_endless_read(mock_crm) -> None:
    # The API pages by cursor and answers every page-number request with its first page.
    rest = mock_crm(pagination="cursor", contacts=30, page_size=10)
    source = rest.source(pagination=STYLES["page_number"])
    with pytest.raises(RestResponseError) as caught:
        rest.read(source)
    assert caught.value.message.startswith("stream contacts: page 2 (GET "), caught.value.message
    assert caught.value.message.endswith("is the same as page 1, so paging does not advance")
    assert caught.value.hint == (
        "check the stream's pagination style and parameter names against the API's docs"
    )
    assert len(rest.crm.requests) == 2
