"""A small JSON-over-HTTPS GET for provider REST APIs (standard library only)."""
from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import orjson

from apps.providers.base import ProviderError

TIMEOUT_SECONDS = 10.0


def get_json(base_url: str, path: str, params: dict | None = None, headers: dict | None = None,
             timeout: float = TIMEOUT_SECONDS):
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
    url = f"{base_url.rstrip('/')}{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise ProviderError(f"GET {path}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ProviderError(f"GET {path}: {exc}") from exc
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(f"GET {path}: unreadable JSON") from exc
