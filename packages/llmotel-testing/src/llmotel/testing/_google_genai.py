"""The Google Gen AI endpoints of the Gemini API and of Vertex AI: ``generateContent``,
``streamGenerateContent?alt=sse``, ``batchEmbedContents`` and Vertex's ``predict`` (text
embeddings), at the paths the ``google-genai`` SDK calls (``/v1/models/{model}:…``,
``/v1beta1/publishers/google/models/{model}:…``, ``/v1beta1/projects/{p}/locations/{l}/…``).

Like the real API: ``usageMetadata`` with ``promptTokenCount`` (cached tokens included, reported
again as ``cachedContentTokenCount``), ``candidatesTokenCount`` and ``thoughtsTokenCount``; finish
reasons ``STOP`` and ``MAX_TOKENS``; function calls as ``functionCall`` parts; stream chunks as
data-only SSE events, each with the usage so far, the last with the finish reason; errors
``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmotel.testing._common import (
    Call,
    JsonResponse,
    Rendered,
    SseEvent,
    StreamResponse,
    default_text,
    embedding_vector,
)
from llmotel.testing._replies import Reply, StreamError, Usage
from llmotel.testing._tokens import count_all, count_tokens, split_for_stream, truncate_tokens

FAMILY = "google_genai"
_PATH = re.compile(
    r"/v1[a-z0-9]*/(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/google/)?"
    r"models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)"
)
_EMBEDDING_DIMENSIONS = 768
THOUGHT = "Stub thought."
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def owns(path: str) -> bool:
    """Whether the request path (as received) is a Google Gen AI model method."""
    return _PATH.fullmatch(path) is not None


def error_body(status: int, message: str | None, type: str | None) -> dict[str, Any]:
    """Google's error body ``{"error": {"code", "message", "status"}}``."""
    return {
        "error": {
            "code": status,
            "message": message or f"Error {status}.",
            "status": type or _STATUS.get(status, "INTERNAL" if status >= 500 else "UNKNOWN"),
        }
    }


def error_response(status: int, reply: Reply, seq: int) -> JsonResponse:
    return JsonResponse(status, error_body(status, reply.message, reply.error_type))


def render(call: Call) -> Rendered:
    match = _PATH.fullmatch(call.path)
    if match is None or call.method != "POST":
        return JsonResponse(404, error_body(404, f"Not found: {call.method} {call.path}", None))
    model, method = match["model"], match["method"]
    if method == "generateContent":
        return _generate(call, model, stream=False)
    if method == "streamGenerateContent":
        return _generate(call, model, stream=True)
    if method == "batchEmbedContents":
        return _batch_embed(call, model)
    if method == "predict":
        return _predict(call, model)
    return JsonResponse(404, error_body(404, f"Method not found: {method}", None))


# --- prompt accounting ----------------------------------------------------------------------------
def _part_texts(part: Any) -> list[str]:
    if not isinstance(part, dict):
        return []
    texts = [part["text"]] if isinstance(part.get("text"), str) else []
    call = part.get("functionCall")
    if isinstance(call, dict):
        texts += [str(call.get("name", "")), _json(call.get("args", {}))]
    response = part.get("functionResponse")
    if isinstance(response, dict):
        texts.append(_json(response.get("response", {})))
    return texts


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _content_texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return [t for p in parts or [] for t in _part_texts(p)]


def _prompt(request: dict[str, Any]) -> tuple[int, str | None]:
    """(prompt tokens, the last user text) of a generateContent request."""
    contents = [c for c in request.get("contents") or [] if isinstance(c, dict)]
    texts = [t for c in contents for t in _content_texts(c)]
    texts += _content_texts(request.get("systemInstruction"))
    last = None
    for content in reversed(contents):
        if content.get("role", "user") == "user":
            user = [
                p["text"]
                for p in content.get("parts") or []
                if isinstance(p, dict) and isinstance(p.get("text"), str)
            ]
            if user:
                last = " ".join(user)
                break
    return count_all(texts), last


def _usage(reply: Reply | None, prompt: int, candidates: int, thoughts: int) -> dict[str, Any]:
    over = reply.usage if reply is not None and reply.usage is not None else Usage()
    cached = over.cache_read_input_tokens or 0
    prompt = over.input_tokens if over.input_tokens is not None else prompt + cached
    candidates = over.output_tokens if over.output_tokens is not None else candidates
    thoughts = over.reasoning_tokens if over.reasoning_tokens is not None else thoughts
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


# --- generateContent ------------------------------------------------------------------------------
def _generate(call: Call, model: str, stream: bool) -> Rendered:
    request = call.json
    config = _dict(request.get("generationConfig"))
    thinking = _dict(config.get("thinkingConfig"))
    prompt, last_user = _prompt(request)
    text = call.scripted_text()
    if text is None:
        text = default_text(model, last_user)
    tool_calls = call.tool_calls()
    truncated = False
    limit = config.get("maxOutputTokens")
    if isinstance(limit, int) and not tool_calls and count_tokens(text) > limit:
        text, truncated = truncate_tokens(text, limit), True
    if call.reply is not None and call.reply.finish_reason is not None:
        reason = call.reply.finish_reason
    else:
        reason = "MAX_TOKENS" if truncated else "STOP"
    # A config given as a dict reaches the wire with its nested keys as written (snake_case).
    thought = True in (thinking.get("includeThoughts"), thinking.get("include_thoughts"))
    parts: list[dict[str, Any]] = [{"text": THOUGHT, "thought": True}] if thought else []
    if text or not tool_calls:
        parts.append({"text": text})
    for tc in tool_calls:
        function: dict[str, Any] = {"name": tc.name, "args": _args(tc.arguments)}
        if tc.id:
            function["id"] = tc.id
        parts.append({"functionCall": function})
    candidates = count_tokens(text) + count_all(
        t for tc in tool_calls for t in (tc.name, tc.arguments_json)
    )
    usage = _usage(call.reply, prompt, candidates, count_tokens(THOUGHT) if thought else 0)
    version = model + call.model_suffix
    response_id = f"stub-{call.seq:06d}"
    if not stream:
        return JsonResponse(
            200,
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": parts},
                        "finishReason": reason,
                        "index": 0,
                    }
                ],
                "usageMetadata": usage,
                "modelVersion": version,
                "responseId": response_id,
            },
        )
    return _stream(call, parts, reason, usage, version, response_id)


def _args(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return {}
    return dict(arguments)


def _stream(
    call: Call,
    parts: list[dict[str, Any]],
    reason: str,
    usage: dict[str, Any],
    version: str,
    response_id: str,
) -> StreamResponse:
    pieces: list[dict[str, Any]] = []
    for part in parts:
        if "text" in part and not part.get("thought"):
            pieces += [{"text": t} for t in split_for_stream(part["text"])]
        else:
            pieces.append(part)
    events: list[SseEvent] = []
    so_far = {**usage, "candidatesTokenCount": 0}
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [piece]}, "index": 0}
        if last:
            candidate["finishReason"] = reason
        body = {
            "candidates": [candidate],
            "usageMetadata": usage if last else so_far,
            "modelVersion": version,
            "responseId": response_id,
        }
        events.append((None, body))

    def error_event(error: StreamError) -> SseEvent:
        return (None, error_body(error.status, error.message, error.type))

    return StreamResponse(events, error_event)


# --- embeddings -----------------------------------------------------------------------------------
def _dimensions(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else _EMBEDDING_DIMENSIONS


def _batch_embed(call: Call, model: str) -> Rendered:
    requests = [r for r in call.json.get("requests") or [] if isinstance(r, dict)]
    embeddings = []
    for r in requests:
        text = " ".join(_content_texts(r.get("content")))
        embeddings.append(
            {"values": embedding_vector(text, _dimensions(r.get("outputDimensionality")))}
        )
    return JsonResponse(200, {"embeddings": embeddings})


def _predict(call: Call, model: str) -> Rendered:
    """Vertex AI's text-embedding ``predict``: token counts per instance in ``statistics``."""
    instances = [i for i in call.json.get("instances") or [] if isinstance(i, dict)]
    parameters = _dict(call.json.get("parameters"))
    size = _dimensions(parameters.get("outputDimensionality"))
    predictions = []
    chars = 0
    for instance in instances:
        content = instance.get("content")
        text = content if isinstance(content, str) else ""
        chars += len(text)
        predictions.append(
            {
                "embeddings": {
                    "values": embedding_vector(text, size),
                    "statistics": {"token_count": count_tokens(text), "truncated": False},
                }
            }
        )
    return JsonResponse(
        200, {"predictions": predictions, "metadata": {"billableCharacterCount": chars}}
    )
