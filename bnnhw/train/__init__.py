"""Training the bundled designs (optional extra ``train``: PyTorch).

``python -m bnnhw.train NAME`` retrains ``designs/NAME/model.npz`` on scikit-learn's digits.
Only :mod:`bnnhw.train.data` is importable without PyTorch (it is NumPy + scikit-learn); the
layers, architectures, export and training loop need ``pip install -e '.[train]'``. Nothing else
in bnnhw imports this package.
"""

TORCH_MISSING = "install the train extra: pip install -e '.[train]'"
