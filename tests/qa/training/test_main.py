"""The training command's own decisions, on small folders: which recipe a checkpoint has."""

from __future__ import annotations

from pathlib import Path

from qa.training.__main__ import checkpoint_recipe
from qa.training.train import partial_dir


def test_a_checkpoint_keeps_its_recipe_inside_and_an_older_one_beside_it(tmp_path: Path) -> None:
    checkpoint = tmp_path / "work" / "checkpoint"
    checkpoint.mkdir(parents=True)
    (checkpoint / "config.json").write_text("{}")
    # Saved before checkpoints kept their recipe: the work folder's recipe.json says.
    assert checkpoint_recipe(checkpoint) == tmp_path / "work" / "recipe.json"
    (checkpoint / "recipe.json").write_text('{"config": {}}')
    partial_dir(checkpoint).mkdir()  # left by a run killed after its checkpoint was in place
    assert checkpoint_recipe(checkpoint) == checkpoint / "recipe.json"
    assert not partial_dir(checkpoint).exists()
