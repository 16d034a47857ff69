"""The OpenAI-compatible face of the service: ``/v1/models`` and ``/v1/chat/completions``.

Chat clients built for OpenAI (the ``openai`` SDK, Open WebUI, LibreChat, llama-index's
``OpenAILike``) ask the same engine as ``/ask``; each answer mode is a model.
"""
