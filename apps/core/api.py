"""API foundations shared by every app: the one error shape, pagination.

A Redis or database outage (apps/core/unavailable.py) is answered 503 ``unavailable`` with
Retry-After, in the same shape."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler, set_rollback

from apps.core import unavailable


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class ApiError(exceptions.APIException):
    """A refusal with a machine-readable code and a message a player understands."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None,
                 fields: dict | None = None):
        super().__init__(detail=message, code=code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.error_code = code or self.default_code
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for v in detail.values() for m in _flatten(v)]
    if isinstance(detail, list):
        return [m for v in detail for m in _flatten(v)]
    return [str(detail)]


def _fields(detail) -> dict:
    """Field errors as {field: [messages]}; nested serializers flatten to dotted names."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
            for i, sub in enumerate(value):
                walk(f"{prefix}.{i}", sub)
        else:
            out[prefix or "non_field_errors"] = _flatten(value)

    walk("", detail)
    return out


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        if unavailable.is_unavailable(exc):
            return unavailable_response(exc)
        return None  # a real bug: let Django log it and answer 500

    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail) if isinstance(exc.detail, dict) else {}
        non_field = fields.pop("non_field_errors", None)
        if non_field:
            message = " ".join(non_field)
        elif fields:
            first_field, messages = next(iter(fields.items()))
            message = f"{first_field}: {messages[0]}" if len(fields) == 1 else "Some fields are not valid."
        else:
            message = " ".join(_flatten(exc.detail)) or "The request is not valid."
        body = error_body("invalid", message, fields)
    elif isinstance(getattr(exc, "detail", None), dict) and "code" in exc.detail and "detail" in exc.detail:
        # simplejwt's refusals carry {"detail", "code", "messages": [...]}: one code, one sentence.
        code = str(exc.detail["code"])
        body = error_body(code, _token_message(exc.detail) if code == "token_not_valid" else str(exc.detail["detail"]))
    else:
        code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        if not isinstance(code, str):
            code = "error"
        message = " ".join(_flatten(exc.detail)) if hasattr(exc, "detail") else str(exc)
        body = error_body(code, message)
    return Response(body, status=response.status_code, headers=_copy_headers(response))


def unavailable_response(exc: BaseException) -> Response:
    """503 in the error shape with Retry-After, logged once as a warning (not as a server error)."""
    import logging

    set_rollback()
    logging.getLogger("stockrace.unavailable").warning("answered 503: %s: %s", type(exc).__name__, exc)
    name, value = unavailable.retry_after_header()
    return Response(error_body(unavailable.CODE, unavailable.MESSAGE), status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={name: value})


def _token_message(detail: dict) -> str:
    """What a client should do about a refused bearer token, in one sentence."""
    reasons = " ".join(str(m.get("message", "")) for m in detail.get("messages", []) if isinstance(m, dict))
    if "expired" in reasons.lower():
        return "The access token has expired: get a new one from /api/v1/auth/token/refresh/ or log in again."
    if isinstance(detail.get("detail"), str) and not detail.get("messages") and detail["detail"].endswith("."):
        return detail["detail"]  # a sentence of our own (a revoked token)
    return "The access token is not valid: log in again (POST /api/v1/auth/token/) to get a new one."


def _copy_headers(response) -> dict:
    return {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}


def json_error_response(status_code: int, code: str, message: str, headers: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code, headers=headers)
