"""The front ends, one layer over the library (``qa``): the ``qa`` command (``service.cli``),
the HTTP API and web page (``service.app``) and the Slack bot (``service.slack``). Each parses
its input, calls ``qa.engine.Engine`` and formats the result; none retrieves or answers."""
