"""SQuAD-format data as a corpus and gold set: each paragraph on its own line, and each
question's evidence is that line."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.squad import SquadFormatError, file_name, write_corpus


def squad_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def article(title: str, paragraphs: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {"title": title, "paragraphs": [{"context": c, "qas": q} for c, q in paragraphs]}


BRIDGE = article(
    "Old bridge",
    [
        (
            "The old bridge opened in 1932.\nIt was designed by Ann Lee.",
            [
                {
                    "id": "q1",
                    "question": "Who designed the bridge?",
                    "answers": [{"text": "Ann Lee", "answer_start": 48}],
                    "is_impossible": False,
                },
                {
                    "id": "q2",
                    "question": "Who painted the bridge?",
                    "answers": [],
                    "plausible_answers": [{"text": "Ann Lee", "answer_start": 48}],
                    "is_impossible": True,
                },
            ],
        ),
        (
            "A ferry ran before it.",
            [
                {
                    "id": "q3",
                    "question": "What ran before the bridge?",
                    "answers": [
                        {"text": "A ferry", "answer_start": 0},
                        {"text": "ferry", "answer_start": 2},
                    ],
                }
            ],
        ),
    ],
)


def test_each_paragraph_is_one_line_and_each_question_cites_it(tmp_path: Path) -> None:
    corpus = write_corpus(squad_file(tmp_path, {"data": [BRIDGE]}), tmp_path / "corpus")
    assert corpus.files == ("Old_bridge.txt",)
    lines = (tmp_path / "corpus" / "Old_bridge.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "The old bridge opened in 1932. It was designed by Ann Lee."
    assert lines[1] == ""  # a blank line: each paragraph is a paragraph of its own
    assert lines[2] == "A ferry ran before it."
    by_id = {q.id: q for q in corpus.questions}
    assert by_id["q1"].answerable and by_id["q1"].evidence == ["Old_bridge.txt:1"]
    assert by_id["q1"].answers == [["Ann Lee"]]
    assert by_id["q3"].answers == [["A ferry", "ferry"]]  # every accepted text, one group
    assert by_id["q3"].evidence == ["Old_bridge.txt:3"]
    assert not by_id["q2"].answerable and by_id["q2"].answers == [] and by_id["q2"].evidence == []
    assert by_id["q2"].category == "unanswerable"


def test_only_the_chosen_articles_are_written(tmp_path: Path) -> None:
    other = article("Ferry", [("Ferries are boats.", [])])
    path = squad_file(tmp_path, {"data": [BRIDGE, other]})
    corpus = write_corpus(path, tmp_path / "corpus", ["Ferry"])
    assert corpus.files == ("Ferry.txt",) and corpus.questions == ()


def test_an_unknown_article_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SquadFormatError, match=r"'Bridge'.*Its articles: Old bridge"):
        write_corpus(squad_file(tmp_path, {"data": [BRIDGE]}), tmp_path / "c", ["Bridge"])


@pytest.mark.parametrize("content", ["[1, 2]", '{"version": 2}', "not json", '{"data": [3]}'])
def test_a_file_that_is_not_squad_says_so(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SquadFormatError, match=r"bad\.json"):
        write_corpus(path, tmp_path / "corpus")


@given(st.text(min_size=1, max_size=40))
def test_file_names_are_safe(title: str) -> None:
    name = file_name(title)
    assert name.endswith(".txt") and "/" not in name and not name.startswith(".")


_PARAGRAPH = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60),
    min_size=1,
    max_size=5,
).map(" ".join)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=st.lists(_PARAGRAPH, min_size=1, max_size=5), data=st.data())
def test_the_evidence_line_holds_the_answer(
    tmp_path: Path, paragraphs: list[str], data: st.DataObject
) -> None:
    rows = []
    for number, context in enumerate(paragraphs):
        if not context.strip():
            continue
        start = data.draw(st.integers(0, len(context) - 1))
        end = data.draw(st.integers(start + 1, len(context)))
        answer = context[start:end]
        if not answer.strip():
            continue
        qa = {
            "id": f"q{number}",
            "question": "What?",
            "answers": [{"text": answer, "answer_start": start}],
        }
        rows.append((context, [qa]))
    run = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    corpus = write_corpus(squad_file(run, {"data": [article("T", rows)]}), run / "corpus")
    lines = (run / "corpus" / "T.txt").read_text(encoding="utf-8").split("\n")
    for question in corpus.questions:
        _, line = question.evidence[0].rsplit(":", 1)
        text = " ".join(lines[int(line) - 1].split())
        assert " ".join(question.answers[0][0].split()) in text
