"""The fast payload encoder (orjson) and the plain reference encoder give the same JSON value."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.jsontext import encode, encode_reference, stored

UTC = dt.timezone.utc
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text() | st.dates() | st.datetimes(timezones=st.just(UTC)) | st.datetimes())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=12), values, max_size=12))
def test_fast_and_reference_encoders_give_the_same_json(payload):
    fast, reference = encode(payload), encode_reference(payload)
    assert json.loads(fast) == json.loads(reference)


def test_a_payload_reads_the_same_text_both_ways():
    payload = {"org_code": "220102001001", "date": dt.date(2024, 3, 5), "note": 'a"b\\c\n\u2028😀',
               "persons": 3, "hours": 1.5, "roles": ["网格员"], "at": dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
               "big": 2**70, "deleted": False}
    assert json.loads(encode(payload)) == json.loads(encode_reference(payload))
    assert encode({"x": 2**70}) == '{"x":1180591620717411303424}'  # beyond orjson: the reference encodes it


def test_a_push_of_stored_rows_is_the_push_of_their_changes():
    """encode_push_rows puts the stored payload text in as it is: the same body as encode_push."""
    import gzip

    from sync.protocol import OutgoingChange, encode_push, encode_push_rows

    payload = {"org_code": "220102001001", "date": "2024-03-05", "note": '送药"上门"\n', "persons": 3, "deleted": False}
    row = OutgoingChange("c-1", "service", "r-1", "220102001001", "insert", 0, 1, encode(payload), "王会计", None,
                         "2024-05-06T08:30:00+00:00")
    resolutions = [{"conflict_id": "x", "keep": "server"}]
    fast = json.loads(gzip.decompress(encode_push_rows("b-1", [row], resolutions)))
    plain = json.loads(gzip.decompress(encode_push("b-1", [row.to_change()], resolutions)))
    assert fast == plain and fast["changes"][0]["payload"] == payload
    # the reference encoder reads stored text too (where orjson hands a value over to it)
    assert json.loads(encode_reference({"payload": stored(encode(payload))})) == {"payload": payload}
