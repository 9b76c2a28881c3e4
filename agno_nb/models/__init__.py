"""Model clients for :class:`agno_nb.Agent`.

- :class:`OfflineModel`: deterministic and network-free (the default).
- :class:`ScriptedModel`: canned responses in order, for tests.
- :class:`OpenAIChat`: any OpenAI-compatible chat-completions endpoint.

Anything with ``id``, ``name``, ``provider`` and
``response(messages, *, tools=None) -> ModelResponse`` is a :class:`Model`.
"""

from __future__ import annotations

from agno_nb.models.base import Model, ModelResponse, TokenMetrics, Tool, ToolCall
from agno_nb.models.offline import OfflineModel
from agno_nb.models.openai_chat import OpenAIChat
from agno_nb.models.scripted import ScriptedModel

__all__ = [
    "Model",
    "ModelResponse",
    "OfflineModel",
    "OpenAIChat",
    "ScriptedModel",
    "TokenMetrics",
    "Tool",
    "ToolCall",
]
