"""The outgoing request carries the trace context in ``params._meta`` beside what it had there; the
caller's request is never changed."""

from __future__ import annotations

import mcp.types as types

from llmotel.instrumentation.mcp._extract import with_meta

CARRIER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
DUMP = {"by_alias": True, "mode": "json", "exclude_none": True}


def test_a_request_without_params_gets_them() -> None:
    request = types.ClientRequest(types.ListToolsRequest(method="tools/list"))
    sent = with_meta(request, CARRIER)
    assert sent.model_dump(**DUMP) == {"method": "tools/list", "params": {"_meta": CARRIER}}
    assert request.model_dump(**DUMP) == {"method": "tools/list"}
    assert isinstance(sent, types.ClientRequest)


def test_existing_meta_is_kept() -> None:
    params = types.CallToolRequestParams.model_validate(
        {"name": "add", "arguments": {"a": 1}, "_meta": {"progressToken": 7}}
    )
    request = types.ClientRequest(types.CallToolRequest(method="tools/call", params=params))
    sent = with_meta(request, CARRIER)
    assert sent.model_dump(**DUMP)["params"] == {
        "name": "add",
        "arguments": {"a": 1},
        "_meta": {"progressToken": 7, **CARRIER},
    }
    assert request.model_dump(**DUMP)["params"]["_meta"] == {"progressToken": 7}


def test_nothing_to_carry() -> None:
    request = types.ClientRequest(types.PingRequest(method="ping"))
    assert with_meta(request, {}) is request
