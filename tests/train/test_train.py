"""Training path (needs the ``train`` extra): export validity, faithfulness, determinism, CLI."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the 'train' extra (PyTorch)")

from bnnhw.compiler import lower  # noqa: E402
from bnnhw.model import load, save  # noqa: E402
from bnnhw.model.reference import run_float  # noqa: E402
from bnnhw.train.__main__ import main  # noqa: E402
from bnnhw.train.data import Split, held_out, load_split  # noqa: E402
from bnnhw.train.export import to_model  # noqa: E402
from bnnhw.train.training import TrainSettings, configure_torch, train  # noqa: E402

#: Small versions of the four architectures (same ops, fewer channels / blocks).
TINY = {
    "boolnet": {"width": 4},
    "xnornet": {"width": 8, "blocks": [1, 1]},
    "panet": {"width": 8},
    "pokebnn": {"width": 16, "blocks": 1},
}
SETTINGS = TrainSettings(epochs=2, seed=3, lr=0.01, batch_size=64)


def _quiet(message):
    pass


def _small_split(count=320):
    split = load_split()
    return Split(split.train_images[:count], split.train_labels[:count], split.test_images,
                 split.test_labels)


def _tiny(name, seed=3):
    configure_torch(1)
    settings = TrainSettings(**{**SETTINGS.__dict__, "seed": seed})
    return train(name, TINY[name], settings, log=_quiet, split=_small_split()).net


@pytest.fixture(scope="module", params=sorted(TINY))
def trained(request):
    return request.param, _tiny(request.param)


def test_export_is_a_valid_model_that_loads_and_compiles(trained, tmp_path):
    name, net = trained
    path = tmp_path / "model.npz"
    save(to_model(net), path)
    model = load(path)
    assert model.name == name
    images, _ = held_out()
    predictions = lower(model).classify(images[:16])
    assert predictions.shape == (16,) and set(predictions.tolist()) <= set(range(10))


def test_torch_eval_logits_equal_golden_and_float_model_exactly(trained):
    _, net = trained
    images, _ = held_out()
    model = to_model(net)
    with torch.no_grad():
        logits = net.eval()(torch.as_tensor(np.array(images))).numpy()
    golden = lower(model).run(images).reshape(len(images), -1)
    reference = run_float(model, images)[model.output].reshape(len(images), -1)
    assert np.array_equal(logits, golden)
    assert np.array_equal(reference, golden)


@pytest.mark.parametrize("name", sorted(TINY))
def test_seeded_training_is_byte_identical(name, tmp_path):
    paths = []
    for run in ("a", "b"):
        paths.append(tmp_path / f"{run}.npz")
        save(to_model(_tiny(name, seed=7)), paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_eval_mode_semantics_hold_after_real_training_steps():
    """Several epochs move BN statistics, scales and shifts away from their initial values."""
    configure_torch(1)
    settings = TrainSettings(epochs=3, seed=1, lr=0.02)
    net = train("pokebnn", TINY["pokebnn"], settings, log=_quiet, split=_small_split(640)).net
    images, _ = held_out()
    model = to_model(net)
    with torch.no_grad():
        logits = net(torch.as_tensor(np.array(images))).numpy()
    assert np.array_equal(logits, lower(model).run(images).reshape(len(images), -1))


def test_cli_trains_and_writes_the_model_file(tmp_path, capsys):
    out = tmp_path / "boolnet.npz"
    assert main(["boolnet", "--epochs", "1", "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch   1/1" in printed and "held-out accuracy: golden integer" in printed
    model = load(out)
    assert model.meta["training"]["epochs"] == 1 and model.meta["training"]["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boolnet.npz"]  # no temporary left


def test_cli_rejects_a_missing_output_folder(tmp_path, capsys):
    assert main(["xnornet", "--epochs", "1", "--out", str(tmp_path / "no" / "m.npz")]) == 1
    assert "does not exist" in capsys.readouterr().err
