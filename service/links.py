"""Links to cited lines, for front ends that show citations to people (Slack, chat clients)."""

from __future__ import annotations

from urllib.parse import quote

from qa.models import Citation


def citation_url(citation: Citation, public_url: str) -> str:
    """The service's page of the cited lines, at ``public_url`` (QA_PUBLIC_URL)."""
    return (
        f"{public_url}/sources/{quote(citation.source, safe='/')}"
        f"?start={citation.start_line}&end={citation.end_line}"
    )
