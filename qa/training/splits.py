"""Which SQuAD 2.0 articles train the reader, which calibrate it, which test it.

Whole articles, never questions, are held out: a question whose paragraph was trained on says
little about a corpus the reader has never seen. The test articles are the out-of-domain eval
suite (``qa eval --squad``); nothing is trained or calibrated on them.
"""

from __future__ import annotations

#: The out-of-domain test set: never trained or calibrated on.
TEST_ARTICLES: tuple[str, ...] = ("Normans", "Steam_engine", "Immune_system")
#: Held out from training: early stopping, the refusal threshold and the answerer's weights.
CALIBRATION_ARTICLES: tuple[str, ...] = ("Warsaw", "Force")
#: Everything else in the SQuAD 2.0 file trains.
HELD_OUT: frozenset[str] = frozenset(TEST_ARTICLES + CALIBRATION_ARTICLES)
