"""``python -m bnnhw.train NAME [--epochs E] [--seed S] [--lr LR] [--out PATH]``.

Retrains design ``NAME`` on the digits training split, reproducibly (seeded, deterministic
algorithms, one CPU thread by default), prints one progress line per epoch, and writes the model
file atomically: by default ``designs/NAME/model.npz`` plus a regenerated ``README.md`` with the
held-out accuracies; with ``--out`` only the model file at ``PATH``. Architecture and training
defaults come from ``designs/NAME/design.json`` (``"architecture"``, ``"training"``).

Exit status: 0 done, 1 error (nothing written).
"""

import argparse
import inspect
import sys
from pathlib import Path

from . import TORCH_MISSING

DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.train",
        description="Retrain a bundled bnnhw design on scikit-learn's digits and export it.")
    parser.add_argument("design", choices=DESIGNS, help="design to train")
    parser.add_argument("--epochs", type=int, help="training epochs (default: design.json)")
    parser.add_argument("--seed", type=int, help="random seed (default: design.json)")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: design.json)")
    parser.add_argument("--out", help="model file to write (default: designs/NAME/model.npz, "
                                      "which also regenerates designs/NAME/README.md)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: reproducible, and fastest for these "
                             "small networks on a shared machine)")
    return parser


def _design_config(name):
    """The design's folder and its ``design.json`` (checked as the build checks it)."""
    from ..design import DesignError, find_design, read_config
    try:
        design_dir = find_design(name)
    except DesignError:
        design_dir = Path(__file__).resolve().parents[2] / "designs" / name
    return design_dir, read_config(design_dir)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"bnnhw.train: error: PyTorch is not installed; {TORCH_MISSING}", file=sys.stderr)
        return 1
    from .architectures import BUILDERS
    from .export import to_model
    from .report import evaluate, render_readme, write_text_atomic
    from .training import TrainSettings, configure_torch, train
    from ..errors import BnnhwError
    from ..model import save

    from ..design import DesignError
    try:
        design_dir, config = _design_config(args.design)
    except DesignError as error:
        print(f"bnnhw.train: error: {error}", file=sys.stderr)
        return 1
    try:
        settings = TrainSettings.from_config(config.get("training", {}), epochs=args.epochs,
                                             seed=args.seed, lr=args.lr)
    except (TypeError, ValueError) as error:
        print(f"bnnhw.train: error: {design_dir / 'design.json'}: {error}", file=sys.stderr)
        return 1
    architecture = config.get("architecture", {})
    out = Path(args.out) if args.out else design_dir / "model.npz"
    if not out.parent.is_dir():
        print(f"bnnhw.train: error: --out: folder {out.parent} does not exist", file=sys.stderr)
        return 1
    configure_torch(args.threads)
    result = train(args.design, architecture, settings)
    training = {"epochs": settings.epochs, "seed": settings.seed, "lr": settings.lr,
                "batch_size": settings.batch_size, "max_shift": settings.max_shift}
    try:
        model = to_model(result.net, {"architecture": architecture, "training": training,
                                      "trainer": "python -m bnnhw.train"})
        save(model, out)
        metrics = evaluate(model)
    except BnnhwError as error:     # an exported model the format or the compiler refuses
        print(f"bnnhw.train: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    print(f"held-out accuracy: golden integer {100 * metrics['golden_accuracy']:.2f} %, "
          f"float64 model file {100 * metrics['float_accuracy']:.2f} %, agreement "
          f"{100 * metrics['agreement']:.2f} %; {metrics['parameter_bits']['total']:,} parameter "
          f"bits; trained in {result.seconds:.0f} s")
    if args.out is None:
        description = inspect.cleandoc(BUILDERS[args.design].__doc__)
        extra = config.get("readme_notes")
        if extra:
            description += "\n\n" + ("\n".join(extra) if isinstance(extra, list) else extra)
        readme = render_readme(model, metrics, description=description, training=training,
                               seconds=result.seconds)
        write_text_atomic(design_dir / "README.md", readme)
        print(f"wrote {design_dir / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
