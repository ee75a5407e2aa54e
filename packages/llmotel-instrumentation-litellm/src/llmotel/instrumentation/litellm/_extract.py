"""From LiteLLM's arguments and replies to an :class:`Invocation`.

LiteLLM takes OpenAI-shaped keyword arguments whatever the provider and answers with its own
OpenAI-shaped models (``ModelResponse``, ``ModelResponseStream``, ``EmbeddingResponse``). Reads
defensively: a field may be missing, ``None`` or of another type; such a value is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmotel.semconv.attributes import GEN_AI_PROVIDER_NAME
from llmotel.semconv.attributes import GenAiProviderNameValues as Providers
from llmotel.semconv.calls import read_field as _get
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str, server_of_url
from llmotel.semconv.chat import chat_input as _chat_input
from llmotel.semconv.chat import chat_request as _chat_request
from llmotel.semconv.chat import chat_response as _chat_response
from llmotel.semconv.chat import embeddings_input as _embeddings_input
from llmotel.semconv.chat import output_message
from llmotel.semconv.inference import Invocation

#: ``gen_ai.provider.name`` of a call whose provider LiteLLM could not resolve (it then fails).
UNRESOLVED = "litellm"

# LiteLLM's provider ids (``get_llm_provider``) → semconv ``gen_ai.provider.name``; any other id
# is used as it is (semconv allows values outside its list).
PROVIDERS: Mapping[str, str] = {
    "openai": Providers.OPENAI.value,
    "text-completion-openai": Providers.OPENAI.value,
    "anthropic": Providers.ANTHROPIC.value,
    "mistral": Providers.MISTRAL_AI.value,
    "codestral": Providers.MISTRAL_AI.value,
    "text-completion-codestral": Providers.MISTRAL_AI.value,
    "gemini": Providers.GCP_GEMINI.value,
    "vertex_ai": Providers.GCP_VERTEX_AI.value,
    "vertex_ai_beta": Providers.GCP_VERTEX_AI.value,
    "bedrock": Providers.AWS_BEDROCK.value,
    "azure": Providers.AZURE_AI_OPENAI.value,
    "azure_text": Providers.AZURE_AI_OPENAI.value,
    "azure_ai": Providers.AZURE_AI_INFERENCE.value,
    "cohere": Providers.COHERE.value,
    "cohere_chat": Providers.COHERE.value,
    "watsonx": Providers.IBM_WATSONX_AI.value,
    "watsonx_text": Providers.IBM_WATSONX_AI.value,
    "perplexity": Providers.PERPLEXITY.value,
    "xai": Providers.X_AI.value,
    "deepseek": Providers.DEEPSEEK.value,
    "groq": Providers.GROQ.value,
    "moonshot": "moonshot_ai",
}
# OpenAI finish reasons (LiteLLM maps every provider's onto them) → the semconv schema's.
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}
_SYSTEM_ROLES = frozenset(("system", "developer"))


def provider_name(litellm_provider: object) -> str | None:
    """The semconv provider name of a LiteLLM provider id (an ``LlmProviders`` member or its
    string); ``None`` for anything else or an empty id."""
    value = getattr(litellm_provider, "value", litellm_provider)
    if type(value) is not str or not value:
        return None
    return PROVIDERS.get(value, value)


def server_of(kw: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of the ``api_base`` (or ``base_url``) a call names."""
    url = kw.get("api_base") or kw.get("base_url")
    return server_of_url(url)


def chat_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``completion`` / ``acompletion``; a pydantic model class as the
    ``response_format`` (structured output) is JSON output."""
    _chat_request(inv, kw, max_tokens=("max_completion_tokens", "max_tokens"))
    if isinstance(kw.get("response_format"), type):
        inv.output_type = "json"


def embeddings_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``embedding`` / ``aembedding``."""
    fmt = kw.get("encoding_format")
    if type(fmt) is str:
        inv.encoding_formats = [fmt]


def _usage(inv: Invocation, usage: Any) -> None:
    if usage is None:
        return
    inv.input_tokens = _int(getattr(usage, "prompt_tokens", None))
    inv.output_tokens = _int(getattr(usage, "completion_tokens", None))
    prompt = getattr(usage, "prompt_tokens_details", None)
    if prompt is not None:
        inv.cache_read_input_tokens = _int(_get(prompt, "cached_tokens")) or None
    inv.cache_creation_input_tokens = (
        _int(getattr(usage, "cache_creation_input_tokens", None)) or None
    )
    completion = getattr(usage, "completion_tokens_details", None)
    if completion is not None:
        inv.reasoning_output_tokens = _int(_get(completion, "reasoning_tokens")) or None


def _reason(choice: Any) -> str | None:
    return read_str(getattr(choice, "finish_reason", None))


def resolved_provider(inv: Invocation, litellm_provider: object) -> None:
    """Replace the provider guessed before the call by the one LiteLLM used (the span's attribute
    is set again when the span ends)."""
    name = provider_name(litellm_provider)
    if name is not None and name != inv.provider:
        inv.provider = name
        if inv.attributes is None:
            inv.attributes = {}
        inv.attributes[GEN_AI_PROVIDER_NAME] = name


def _hidden(inv: Invocation, result: Any) -> None:
    # LiteLLM's response metadata names the provider it used (its api_base there may not be the
    # URL the request went to: server.address comes from the call's api_base only).
    hidden = getattr(result, "_hidden_params", None)
    if isinstance(hidden, Mapping):
        resolved_provider(inv, hidden.get("custom_llm_provider"))


def chat_response(inv: Invocation, result: Any, content: bool) -> None:
    """A ``ModelResponse`` of ``completion``."""
    _hidden(inv, result)
    _chat_response(inv, result, content, reason=_reason, usage=_usage, output=_output)


def embeddings_response(inv: Invocation, result: Any, content: bool) -> None:
    """An ``EmbeddingResponse`` of ``embedding``."""
    _hidden(inv, result)
    inv.response_model = read_str(getattr(result, "model", None))
    usage = getattr(result, "usage", None)
    if usage is not None:
        inv.input_tokens = _int(getattr(usage, "prompt_tokens", None))
    data = getattr(result, "data", None)
    if isinstance(data, list) and data:
        vector = _get(data[0], "embedding")
        if isinstance(vector, list):
            inv.dimension_count = len(vector)


def error_provider(inv: Invocation, error: BaseException) -> None:
    """The provider a LiteLLM exception names (``llm_provider``), when it names one."""
    resolved_provider(inv, getattr(error, "llm_provider", None))


# -- streams --------------------------------------------------------------------------------------


class ChatChunks:
    """Accumulates the ``ModelResponseStream`` chunks of a streamed ``completion`` (the usage comes
    in a last chunk when the caller asked for it with ``stream_options={"include_usage": True}``)."""

    __slots__ = ("calls", "content", "id", "model", "reasons", "texts", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}

    def process(self, chunk: Any) -> bool:
        if self.id is None:
            self.id = read_str(getattr(chunk, "id", None))
            self.model = read_str(getattr(chunk, "model", None))
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            return False
        for choice in choices:
            index = _int(getattr(choice, "index", 0)) or 0
            reason = _reason(choice)
            if reason is not None:
                self.reasons[index] = reason
            if self.content:
                self._delta(index, getattr(choice, "delta", None))
        return False

    def _delta(self, index: int, delta: Any) -> None:
        text = getattr(delta, "content", None)
        if type(text) is str:
            self.texts.setdefault(index, []).append(text)
        calls = getattr(delta, "tool_calls", None)
        for call in calls if isinstance(calls, list) else ():
            at = _int(_get(call, "index")) or 0
            entry = self.calls.setdefault(index, {}).setdefault(
                at, {"id": None, "name": None, "arguments": ""}
            )
            entry["id"] = entry["id"] or _get(call, "id")
            function = _get(call, "function")
            entry["name"] = entry["name"] or _get(function, "name")
            arguments = _get(function, "arguments")
            if type(arguments) is str:
                entry["arguments"] += arguments

    def apply(self, inv: Invocation) -> None:
        inv.response_id = self.id
        inv.response_model = self.model
        if self.reasons:
            inv.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        _usage(inv, self.usage)
        if self.content:
            indexes = sorted(set(self.texts) | set(self.calls) | set(self.reasons))
            inv.output_messages = [
                _output(
                    {
                        "content": "".join(self.texts.get(i, ())),
                        "tool_calls": [
                            {"id": c["id"], "function": c}
                            for _, c in sorted(self.calls.get(i, {}).items())
                        ],
                    },
                    self.reasons.get(i),
                )
                for i in indexes
            ]


# -- content --------------------------------------------------------------------------------------


def _output(message: Any, reason: str | None) -> dict[str, Any]:
    return output_message(message, reason, _FINISH, reasoning_field="reasoning_content")


def chat_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """``gen_ai.input.messages``, ``system_instructions`` (``system`` and ``developer`` messages)
    and ``tool.definitions`` of a chat call."""
    _chat_input(inv, kw, system_roles=_SYSTEM_ROLES)


def embeddings_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """The texts an embeddings call embeds (its ``input``), as user messages."""
    _embeddings_input(inv, kw.get("input"))
