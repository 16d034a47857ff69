"""Training's batching and its listwise term, on small hand-made pairs."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.training.pairs import Pair
from qa.training.train import _group_batches, unique_in_groups


def pairs_in_groups(sizes: list[int], lone: int) -> list[Pair]:
    pairs = [
        Pair(f"q{g}", f"s{g}-{i}", int(i == 0), "test", g)
        for g, size in enumerate(sizes)
        for i in range(size)
    ]
    return pairs + [Pair(f"lone{i}", "s", 0, "test") for i in range(lone)]


@given(
    st.lists(st.integers(1, 9), max_size=40),
    st.integers(0, 20),
    st.integers(1, 16),
    st.integers(0, 10**6),
)
def test_group_batches_cover_every_pair_once_and_never_split_a_group(
    sizes: list[int], lone: int, batch_size: int, seed: int
) -> None:
    pairs = pairs_in_groups(sizes, lone)
    batches = _group_batches(
        pairs, [len(p.sentence) for p in pairs], batch_size, random.Random(seed)
    )
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(pairs)))
    batch_of = {i: b for b, batch in enumerate(batches) for i in batch}
    for group in range(len(sizes)):
        members = {batch_of[i] for i, p in enumerate(pairs) if p.group == group}
        assert len(members) == 1
    # A batch stops growing once it has batch_size pairs: only its last group may overflow it.
    assert all(len(batch) < batch_size + 9 for batch in batches)


def test_a_sentence_repeated_in_its_group_is_kept_once_but_lone_pairs_are_kept() -> None:
    pairs = pairs_in_groups([2], 1)
    twice = [*pairs, pairs[0], pairs[-1]]
    kept = unique_in_groups(twice)
    assert kept == [*pairs, pairs[-1]]


def test_the_listwise_term_is_the_choice_among_a_groups_sentences_and_none() -> None:
    torch = pytest.importorskip("torch")
    from qa.training.train import listwise_loss

    logits = torch.tensor([2.0, -1.0, 0.5, 3.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0])
    loss = float(listwise_loss(logits, labels, [7, 7, 8, None]))
    # Group 7 answers with its first sentence; group 8 with "none" (a logit of 0); the lone
    # pair takes no part.
    answered = math.log(1 + math.exp(2.0) + math.exp(-1.0)) - 2.0
    refused = math.log(1 + math.exp(0.5))
    assert loss == pytest.approx((answered + refused) / 2, rel=1e-6)


def test_the_listwise_term_pushes_the_strongest_wrong_sentence_down_most() -> None:
    torch = pytest.importorskip("torch")
    from qa.training.train import listwise_loss

    logits = torch.tensor([1.0, 0.5, 2.0, -3.0], requires_grad=True)
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0])
    listwise_loss(logits, labels, [1, 1, 1, 1]).backward()
    grad = logits.grad.tolist()
    assert grad[0] < 0  # the answer goes up
    assert grad[2] > grad[1] > grad[3] > 0  # the wrong ones go down, the strongest most
