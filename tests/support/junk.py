"""Records that can never become articles, one of each kind we know, for accounting tests.

Each is one line of a JSON-lines file and must end as exactly one dead letter with a reason.
"""

from __future__ import annotations

import json

TOO_LONG_LINE = b'{"title": "t", "body": "' + b"x" * 1_100_000 + b'"}'

JUNK: list[tuple[bytes, str]] = [
    (b"{not json", "invalid_json"),
    (b"\xff\xfe garbage", "invalid_utf8"),
    (b"[]", "not_an_object"),
    (b'"a string"', "not_an_object"),
    (b"42", "not_an_object"),
    (b"null", "not_an_object"),
    (b"{}", "missing_field"),
    (b'{"title": "only a title"}', "missing_field"),
    (b'{"body": "only a body"}', "missing_field"),
    (b'{"title": 7, "body": "b"}', "wrong_type"),
    (b'{"title": "t", "body": {"text": "b"}}', "wrong_type"),
    (b'{"title": ["t"], "body": "b"}', "wrong_type"),
    (b'{"title": "t", "body": "b", "url": "ftp://example.org/x"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "url": "http://[::1"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "url": "http://e.com:99999/"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "url": "http:///no-host"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "url": 5}', "wrong_type"),
    (b'{"title": "t", "body": "b", "published": "yesterday"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "published": "0001-01-01T00:30:00+01:00"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "published": "9999-12-31T23:30:00-01:00"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "published": "0999-05-01T00:00:00Z"}', "invalid_value"),
    (b'{"title": "x\\ud800", "body": "y"}', "invalid_value"),
    (b'{"title": "t", "body": "y\\udfff"}', "invalid_value"),
    (b'{"title": "t", "body": "b", "k\\udc00": 1}', "invalid_value"),
    (b'{"title": "t", "body": "b", "tags": [{"x": "\\udbff"}]}', "invalid_value"),
    (b'{"title": "t", "body": "b", "n": ' + b"9" * 5000 + b"}", "invalid_value"),
    (b"[" * 50 + b"]" * 50, "too_deep"),
    (b'{"a":' * 30 + b"1" + b"}" * 30, "too_deep"),
    (TOO_LONG_LINE, "too_large"),
    (json.dumps({"title": "t" * 1001, "body": "b"}).encode(), "too_large"),
    (json.dumps({"title": "t", "body": "b", "source": "s" * 201}).encode(), "too_large"),
    (json.dumps({"title": "t", "body": "b", "id": "i" * 201}).encode(), "too_large"),
    (b'{"title": "", "body": "   "}', "missing_field"),
    (b"\x00\x00\x00", "invalid_json"),
    (b'{"title": "t"\xef\xbb\xbf, "body": "b"}', "invalid_json"),
    (b'{"title": "t", "body": "b"', "invalid_json"),
    (b'{"title": "t", "body": "b"} trailing', "invalid_json"),
    (b'{"title": NaN, "body": "b"}', "wrong_type"),
    (b'{"title": "t", "body": "b", "language": 1}', "wrong_type"),
    (b'{"title": "\xc0\xaf", "body": "b"}', "invalid_utf8"),
    (b'{"title": "\x80", "body": "b"}', "invalid_utf8"),
    (b'{"title": "\xed\xa0\x80", "body": "b"}', "invalid_utf8"),
    (b'{"title": "\\u0001\\u0002", "body": "\\u0003"}', "missing_field"),
    (b'{"title": "t", "body": "b", "published": 20260101}', "wrong_type"),
    (b'{"title": "a", "body": "b"}{"title": "c", "body": "d"}', "invalid_json"),
]
