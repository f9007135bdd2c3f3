"""What the SDK-based kinds (anthropic, gemini) share: one client made on first use
and closed on stop, and, for SDKs of the openai/anthropic family (the same generator,
the same error classes), which failures are retried and how they are told to the
voter. The openai kind speaks its protocol directly (openai_compat.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from arena.backends.base import Backend

__all__ = ["SDKBackend"]


class SDKBackend(Backend):
    """Subclasses set :attr:`sdk` and implement :meth:`_make_client`."""

    sdk: ModuleType | None = None  # the openai or anthropic module
    _client: Any = None

    def _make_client(self) -> Any:
        raise NotImplementedError

    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    async def _close(self, client: Any) -> None:
        await client.close()

    async def stop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await self._close(client)

    def should_retry(self, exc: BaseException) -> bool:
        sdk = self.sdk
        if sdk is None:
            return False
        return isinstance(
            exc, sdk.APIConnectionError | sdk.RateLimitError | sdk.InternalServerError
        )

    def describe(self, exc: BaseException) -> str:
        sdk = self.sdk
        if sdk is not None and isinstance(exc, sdk.APIStatusError):
            return f"the model's server answered HTTP {exc.status_code}"
        if sdk is not None and isinstance(exc, sdk.APIConnectionError):
            return "could not reach the model's server"
        return super().describe(exc)
