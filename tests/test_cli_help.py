"""The training CLI explains itself: every option described, presets with sizes, a recent-rate ETA, outputs named."""

import pytest

from solver import PRESETS
from solver.learning import cli


def test_train_help_describes_every_option_and_lists_presets_with_sizes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    train = next(a for a in cli._parser()._actions if a.dest == "command").choices["train"]
    for action in train._actions:
        assert action.help, f"{action.option_strings} has no help"
    for name, preset in PRESETS.items():
        line = next(line for line in text.splitlines() if line.strip().startswith(name + " "))
        assert "-".join(map(str, preset.layer_sizes)) in line and f"{preset.epochs} epochs" in line
        weights = sum(a * b for a, b in zip(preset.layer_sizes[:-1], preset.layer_sizes[1:]))
        assert f"{weights:,d} weights" in line
    for output in cli.OUTPUTS:
        assert output in text


def test_eta_uses_the_recent_rate():
    # 10 slow examples in the first 5 s (warm-up), then 100 examples per second
    now = [0.0]
    bar = cli._Progress("x", enabled=False, window=10.0, clock=lambda: now[0])
    done = 0
    for t in range(1, 31):
        done += 2 if t <= 5 else 100
        rate = bar.recent_rate(float(t), done)
    assert rate == pytest.approx(100.0)  # the whole-run average would be 2510 / 30 = 83.7


def test_main_says_where_it_wrote_its_outputs(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--model", "drn-digits", "--dataset", "digits", "--epochs", "1", "--limit", "20",
                     "--test-limit", "10", "--out", str(out), "--no-progress"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"outputs in {out.resolve()}:")
    for name in cli.OUTPUTS:
        assert name in last and (out / name).exists()
