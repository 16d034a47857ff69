"""Tests of training itself need the training extra (torch, transformers), which the main test
environment leaves out. scripts/test.sh runs them in its training lane (.venv-train) with
QA_REQUIRE_TRAINING=1, so CI cannot skip them; elsewhere they skip with the reason."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from qa.training.pairs import Pair

WORDS = [
    *("who", "when", "where", "what", "built", "the", "bridge", "tower"),
    *("river", "town", "year", "in", "by", "a", "was"),
]


def require_training_extra() -> None:
    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    reason = f"needs the training extra ({', '.join(missing)} missing): pip install -e '.[train]'"
    if os.environ.get("QA_REQUIRE_TRAINING"):
        pytest.fail(f"QA_REQUIRE_TRAINING is set but it {reason}")
    pytest.skip(reason)


def tiny_base(folder: Path, dropout: float = 0.1) -> Path:
    """A two-layer BERT base 32 wide (no classifier yet) with a word-level vocabulary: it
    trains and exports in seconds. ``dropout`` 0 lets a few hundred steps fit the pairs.

    Its weights are drawn from one fixed seed: the same base every run. Unseeded, the export test
    failed now and then: int8 scores of a model this narrow stray from torch's by 0.03-0.17 of
    the logit range depending on the draw (8 draws), against the test's 0.1."""
    require_training_extra()
    import torch
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    wordpiece = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer()
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    transformers.BertTokenizerFast(tokenizer_object=wordpiece).save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    with torch.random.fork_rng():  # the callers' random state is left as it was
        torch.manual_seed(0)
        transformers.BertModel(config).save_pretrained(folder)
    return folder


def tiny_pairs() -> list[Pair]:
    questions = ["who built the bridge", "when was the tower built", "where was the town"]
    sentences = ["the bridge was built by a town", "the tower was built in a year", "a river"]
    return [
        Pair(q, s, int(i == j), "tiny")
        for i, q in enumerate(questions)
        for j, s in enumerate(sentences)
    ]
