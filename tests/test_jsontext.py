"""The fast payload encoder (orjson) and the plain reference encoder give the same JSON value."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.jsontext import encode, encode_reference

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
