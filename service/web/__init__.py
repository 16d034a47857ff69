"""The web page that `qa serve` serves at /: plain HTML, CSS and one JavaScript module in
``static/``, no build step and nothing fetched from elsewhere."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
