"""Synthetic corpora of N documents, for ingest and latency figures at scale.

Each document is one or two paragraphs of the seed articles, recombined, with the people's
names, the dates, the years and the numbers changed (deterministically, from ``--seed`` and the
document's number). Documents are kept short on purpose: every chunk and every sentence is
embedded, at ~40-80 ms per text on one CPU thread, so 10,000 full-length articles would take
hours here; 10,000 short ones take minutes.

Example::

    $ python bench/synth_corpus.py --docs 1000 --out /tmp/corpus-1000
    wrote 1000 documents (2 paragraphs max) to /tmp/corpus-1000

The corpus is the same for the same ``--docs``, ``--seed`` and seed articles, so figures taken
on it can be reproduced.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"

FIRST_NAMES = [
    "Anna",
    "Boris",
    "Chen",
    "Daria",
    "Elena",
    "Farid",
    "Galina",
    "Hiro",
    "Irina",
    "Jonas",
    "Kira",
    "Lev",
    "Maya",
    "Nikolai",
    "Olga",
    "Pavel",
    "Quinn",
    "Rustam",
    "Sofia",
    "Timur",
    "Ulla",
    "Vera",
    "Wen",
    "Xenia",
    "Yuri",
    "Zoya",
    "Amir",
    "Bianca",
    "Carlos",
    "Dmitri",
]
LAST_NAMES = [
    "Abramov",
    "Belova",
    "Castellanos",
    "Demidova",
    "Egorov",
    "Fomina",
    "Gromov",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kovalenko",
    "Lindqvist",
    "Morozova",
    "Novak",
    "Orlov",
    "Petrova",
    "Quiroga",
    "Romanov",
    "Sokolova",
    "Tanaka",
    "Usmanov",
    "Volkova",
    "Weber",
    "Xu",
    "Yakovleva",
    "Zaitsev",
    "Arnaud",
    "Brennan",
    "Costa",
    "Dubois",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

#: People of the seed articles (first and last names, alone or together).
_SEED_PEOPLE = re.compile(
    r"\b(?:Yulia|Klim|Anton|Oleg|Dmitriy|Dmitry|Pyotr|Tom|Elon|Doug|Richard|Novitskiy|Peresild|"
    r"Shipenko|Shkaplerov|Rogozin|Dubrov|Cruise|Musk|Liman|Peskov|Branson|Artemyev|Pereselid)\b"
)
_FIRST = frozenset(
    [
        "Yulia",
        "Klim",
        "Anton",
        "Oleg",
        "Dmitriy",
        "Dmitry",
        "Pyotr",
        "Tom",
        "Elon",
        "Doug",
        "Richard",
    ]
)
_MONTH = re.compile(r"\b(?:" + "|".join(MONTHS) + r")\b")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?![\w.])")


def seed_paragraphs(seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """Paragraphs of the seed articles long enough to stand alone (captions left out)."""
    paragraphs: list[str] = []
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for block in re.split(r"\n\s*\n", text):
            block = " ".join(line.strip() for line in block.splitlines() if line.strip())
            if 100 <= len(block) <= 450:
                paragraphs.append(block)
    return paragraphs


def _vary(paragraph: str, rng: random.Random, people: dict[str, str]) -> str:
    def person(match: re.Match[str]) -> str:
        name = match.group(0)
        if name not in people:
            pool = FIRST_NAMES if name in _FIRST else LAST_NAMES
            people[name] = rng.choice(pool)
        return people[name]

    text = _SEED_PEOPLE.sub(person, paragraph)
    text = _MONTH.sub(lambda _: rng.choice(MONTHS), text)
    text = _YEAR.sub(lambda _: str(rng.randint(1995, 2035)), text)
    return _NUMBER.sub(lambda m: str(max(1, int(m.group(0)) + rng.randint(-9, 9))), text)


def document(index: int, paragraphs: list[str], seed: int = 7, max_paragraphs: int = 2) -> str:
    """Document ``index``: 1..max_paragraphs seed paragraphs with new names, dates, numbers."""
    rng = random.Random(seed * 1_000_003 + index)
    count = 1 if rng.random() < 0.7 else rng.randint(1, max_paragraphs)
    people: dict[str, str] = {}
    chosen = rng.sample(paragraphs, count)
    return "\n\n".join(_vary(p, rng, people) for p in chosen) + "\n"


def write_corpus(
    out: Path, docs: int, seed: int = 7, max_paragraphs: int = 2, seeds_dir: Path = SEEDS_DIR
) -> list[Path]:
    """Write ``docs`` documents under ``out`` (1,000 per subfolder); returns their paths."""
    paragraphs = seed_paragraphs(seeds_dir)
    written: list[Path] = []
    for i in range(docs):
        folder = out / f"part-{i // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"doc-{i:05d}.txt"
        path.write_text(document(i, paragraphs, seed, max_paragraphs), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, required=True, help="number of documents (N)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--max-paragraphs", type=int, default=2, help="paragraphs per document, at most"
    )
    args = parser.parse_args()
    write_corpus(args.out, args.docs, args.seed, args.max_paragraphs)
    print(f"wrote {args.docs} documents ({args.max_paragraphs} paragraphs max) to {args.out}")


if __name__ == "__main__":
    main()
