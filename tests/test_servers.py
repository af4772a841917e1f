"""stockrace/servers.py: Twisted's Content-Type parsing, memoised, answers as before."""
import importlib

from stockrace.servers import tune_twisted_http


def test_memoised_content_type_parsing_gives_the_same_answers():
    http = importlib.import_module("twisted.web.http")
    original = getattr(http._parseContentType, "__wrapped__", http._parseContentType)
    tune_twisted_http()
    assert hasattr(http._parseContentType, "cache_info")
    assert tune_twisted_http() is False  # once is enough
    for line in (b"application/json", b"Application/JSON; charset=utf-8", b"multipart/form-data; boundary=x",
                 b"application/x-www-form-urlencoded", b"text/plain;charset=latin-1", b"garbage", b""):
        assert http._parseContentType(line) == original(line)
        assert http._parseContentType(line) == original(line)  # from the cache
    assert http._parseContentType.cache_info().hits >= 7
