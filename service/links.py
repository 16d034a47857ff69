"""Links to cited lines, for front ends that show citations to people (Slack, chat clients)."""

from __future__ import annotations

from urllib.parse import quote

from qa.models import Citation


def citation_url(citation: Citation, public_url: str) -> str:
    """The web page's view of the cited file at ``public_url`` (QA_PUBLIC_URL), the cited lines
    highlighted: ``/files/notes.txt#L3-L5``."""
    lines = f"L{citation.start_line}"
    if citation.end_line != citation.start_line:
        lines += f"-L{citation.end_line}"
    return f"{public_url}/files/{quote(citation.source, safe='/')}#{lines}"
