"""Small corpora of the tests' own: made-up facts, one question each answers plainly."""

from __future__ import annotations

MILL = (
    "# The mill on the hill\n"
    "\n"
    "The mill on the hill was built by Jonas Berg in 1850.\n"
    "It ground flour for the village until 1962.\n"
    "Today it is a museum that opens every Sunday.\n"
    "Visitors can climb to the cap and see the sails turn.\n"
)
FERRY = (
    "The island ferry leaves the harbour at seven in the morning.\n"
    "The crossing takes forty minutes in calm weather.\n"
)
#: "Who built the mill on the hill?" is answered by mill.md line 3.
MILL_AND_FERRY = {"mill.md": MILL, "ferry.txt": FERRY}
