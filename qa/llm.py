"""The client of an OpenAI-compatible chat completions endpoint: OpenAI, vLLM, llama.cpp, Ollama.

One deadline bounds a whole call: ``QA_LLM_TIMEOUT_S`` covers every attempt and the waits
between them, so a slow or dead server costs at most that long (plus, when streaming, one gap
between tokens) and never hangs a request. Failures that may pass (connection refused, 408,
409, 429, 5xx) are retried ``QA_LLM_MAX_RETRIES`` times with exponential backoff, while time is
left. The openai client's own retries are off: they would not respect the deadline.

Example::

    >>> llm = LLMClient("http://127.0.0.1:8080/v1", "smollm2", timeout_s=10)
    >>> llm.complete([{"role": "user", "content": "Say hi."}]).text
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.config import Settings
from qa.errors import LLMFailedError, LLMTimeoutError

if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

Message = dict[str, str]

#: Statuses worth another try: the server is busy, restarting or overloaded.
_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 8.0


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Completion:
    """What the LLM said, whole."""

    text: str
    model: str
    finish_reason: str | None
    usage: Usage | None


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    prompt = getattr(raw, "prompt_tokens", None)
    completion = getattr(raw, "completion_tokens", None)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


class LLMClient:
    """Chat completions with a deadline, retries and errors a user can act on."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 30.0,
        max_retries: int = 2,
        retry_backoff_s: float = 0.5,
        max_tokens: int = 512,
        temperature: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._sleep = sleep
        # Local servers (llama.cpp, vLLM, Ollama) need no key, but the client insists on one.
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", max_retries=0, timeout=timeout_s
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        """The configured LLM, or None when QA_LLM_BASE_URL is not set."""
        if not settings.llm_configured:
            return None
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            retry_backoff_s=settings.llm_retry_backoff_s,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )

    def with_options(
        self, temperature: float | None = None, max_tokens: int | None = None
    ) -> LLMClient:
        """This client with a caller's sampling options for one request; it shares the
        connection pool. ``max_tokens`` is capped at this client's own limit (the operator's)."""
        clone = copy.copy(self)
        if temperature is not None:
            clone.temperature = temperature
        if max_tokens is not None:
            clone.max_tokens = min(max_tokens, self.max_tokens)
        return clone

    def close(self) -> None:
        self._client.close()

    # Calls.
    def complete(self, messages: Sequence[Message]) -> Completion:
        """The whole reply to ``messages``."""
        deadline = time.monotonic() + self.timeout_s
        response = self._create(messages, deadline, stream=False)
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise self._garbage("a reply with no choices")
        message = getattr(choices[0], "message", None)
        text = getattr(message, "content", None)
        if not isinstance(text, str) or not text.strip():
            raise self._garbage("an empty reply")
        completion = Completion(
            text=text,
            model=str(getattr(response, "model", "") or self.model),
            finish_reason=getattr(choices[0], "finish_reason", None),
            usage=_usage(getattr(response, "usage", None)),
        )
        self._log(completion)
        return completion

    def stream(self, messages: Sequence[Message]) -> Iterator[str | Completion]:
        """The reply as it is generated: text deltas, then the whole ``Completion``.

        A failure before the first token is retried like ``complete``; after it, it is raised
        (what was shown cannot be taken back, so the caller decides what to do).
        """
        deadline = time.monotonic() + self.timeout_s
        response = self._create(messages, deadline, stream=True)
        parts: list[str] = []
        finish_reason: str | None = None
        usage: Usage | None = None
        model = self.model
        try:
            for chunk in response:
                if time.monotonic() > deadline:
                    raise self._timeout()
                model = str(getattr(chunk, "model", "") or model)
                usage = _usage(getattr(chunk, "usage", None)) or usage
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(getattr(choice, "delta", None), "content", None)
                    finish_reason = getattr(choice, "finish_reason", None) or finish_reason
                    if isinstance(delta, str) and delta:
                        parts.append(delta)
                        yield delta
        except LLMFailedError:
            raise
        except Exception as exc:
            # Any transport or parsing failure inside the third-party stream (a dropped
            # connection, a read timeout, a chunk that is not JSON) ends the answer here.
            if time.monotonic() > deadline or "timeout" in type(exc).__name__.lower():
                raise self._timeout() from exc
            raise self._garbage(f"a broken stream ({type(exc).__name__})") from exc
        finally:
            close = getattr(response, "close", None)
            if callable(close):
                close()
        text = "".join(parts)
        if not text.strip():
            raise self._garbage("an empty reply")
        completion = Completion(text=text, model=model, finish_reason=finish_reason, usage=usage)
        self._log(completion)
        yield completion

    def _create(self, messages: Sequence[Message], deadline: float, stream: bool) -> Any:
        import openai

        extra: dict[str, Any] = {}
        if stream:
            # Ask for the usage in a last chunk; servers that do not know the option ignore it.
            extra = {"stream": True, "stream_options": {"include_usage": True}}
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout()
            try:
                return self._client.chat.completions.create(
                    model=self.model,
                    messages=list(messages),  # type: ignore[arg-type]
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    timeout=remaining,
                    **extra,
                )
            except openai.APITimeoutError as exc:
                raise self._timeout() from exc
            except ValueError as exc:  # a JSON content type with a body that is not JSON
                raise self._garbage("a reply that is not JSON") from exc
            except openai.APIError as exc:
                error = self._error(exc)
                retryable = isinstance(exc, openai.APIConnectionError) or (
                    isinstance(exc, openai.APIStatusError) and exc.status_code in _RETRY_STATUSES
                )
                wait = min(self.retry_backoff_s * 2**attempt, _MAX_BACKOFF_S)
                if not retryable or attempt >= self.max_retries:
                    raise error from exc
                if time.monotonic() + wait >= deadline:
                    raise error from exc  # no time left for another try
                logger.warning(
                    "LLM call failed (%s); retry %d of %d in %.1f s",
                    error.message,
                    attempt + 1,
                    self.max_retries,
                    wait,
                )
                self._sleep(wait)
                attempt += 1

    # Errors.
    def _timeout(self) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"The LLM at {self.base_url} did not answer within {self.timeout_s:g} s.",
            "Retry, raise QA_LLM_TIMEOUT_S, or ask with mode 'extractive'.",
        )

    def _garbage(self, what: str) -> LLMFailedError:
        return LLMFailedError(
            f"The LLM at {self.base_url} returned {what}.",
            "Check that QA_LLM_MODEL is a chat model the server serves, or ask with mode "
            "'extractive'.",
        )

    def _error(self, exc: openai.APIError) -> LLMFailedError:
        import openai

        where = f"The LLM at {self.base_url}"
        if isinstance(exc, openai.APIConnectionError):
            return LLMFailedError(
                f"{where} could not be reached.",
                "Check QA_LLM_BASE_URL and that the server is running, or ask with mode "
                "'extractive'.",
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in (401, 403):
                return LLMFailedError(
                    f"{where} refused the API key (HTTP {status}).",
                    "Set QA_LLM_API_KEY (or OPENAI_API_KEY) to a valid key.",
                )
            if status == 404:
                return LLMFailedError(
                    f"{where} has no model '{self.model}' or no chat completions route (HTTP 404).",
                    "Check QA_LLM_MODEL, and that QA_LLM_BASE_URL ends in /v1 where the server "
                    "expects it.",
                )
            return LLMFailedError(
                f"{where} answered HTTP {status}.",
                "Retry later, or ask with mode 'extractive'.",
            )
        return self._garbage("a reply that is not a chat completion")

    def _log(self, completion: Completion) -> None:
        usage = completion.usage
        logger.info(
            "LLM answered",
            extra={
                "llm_model": completion.model,
                "finish_reason": completion.finish_reason,
                "prompt_tokens": usage.prompt_tokens if usage else None,
                "completion_tokens": usage.completion_tokens if usage else None,
            },
        )
