"""One chat completion from the team's OpenAI-compatible endpoint, through the ``openai`` client.

Ollama (``http://localhost:11434/v1``), llama.cpp's ``llama-server``
(``http://localhost:8080/v1``) and vLLM (``http://localhost:8000/v1``) all serve
``/v1/chat/completions``. Every way the call can go wrong (no connection, no answer
within ``[drafts] timeout_seconds``, a 4xx or 5xx, a body that is not a completion)
becomes :class:`DraftUnavailable` with one line saying which, so that the caller
falls back to the rule and retrieval suggestions instead of failing. The client
does not retry: the drafts job asks again on its next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import openai

from listener.errors import HarkenError
from listener.settings import DraftsSettings


class DraftUnavailable(HarkenError):
    """The endpoint gave no usable answer; the message says why in one line (no secret in it)."""


@dataclass(frozen=True)
class Answer:
    text: str | None
    model: str
    seconds: float


class DraftClient:
    """A chat-completions client for ``[drafts] base_url`` and ``model``."""

    def __init__(self, settings: DraftsSettings, max_tokens: int = 300) -> None:
        self.settings = settings
        self.max_tokens = max_tokens
        # Ollama and llama.cpp take any key; the client insists on one.
        self.client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key.get_secret_value() or "none",
                                    timeout=settings.timeout_seconds, max_retries=0)

    @property
    def model(self) -> str:
        return self.settings.model

    def complete(self, messages: list[dict[str, str]]) -> Answer:
        started = time.perf_counter()
        try:
            response = self.client.chat.completions.create(
                model=self.settings.model, messages=messages, temperature=0.2,  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
            )
            text = response.choices[0].message.content
            model = response.model or self.settings.model
        except openai.APITimeoutError:
            raise DraftUnavailable(f"no answer within {self.settings.timeout_seconds:g} s") from None
        except openai.APIStatusError as error:
            raise DraftUnavailable(f"the endpoint answered HTTP {error.status_code}") from None
        except openai.APIConnectionError:
            raise DraftUnavailable(f"cannot reach {self.settings.base_url}") from None
        except (openai.OpenAIError, ValueError, LookupError, AttributeError, TypeError) as error:
            raise DraftUnavailable(f"the endpoint's answer is not a chat completion ({type(error).__name__})") from None
        if text is not None and not isinstance(text, str):
            raise DraftUnavailable("the endpoint's answer is not a chat completion (content is not text)")
        return Answer(text, str(model), time.perf_counter() - started)
