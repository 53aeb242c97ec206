"""Seeded, deterministic training of a design on the digits training split (PyTorch, CPU).

Adam with a cosine learning-rate decay, cross-entropy loss, random ±1 pixel shifts as the only
augmentation, latent binary weights clipped to [-1, 1] after each step, batch-norm statistics
recomputed on the training images after the last epoch (:func:`recalibrate_batchnorm`). The
held-out split is only evaluated (eval mode, i.e. the exported integer semantics) for the
progress lines; nothing is selected on it: the network after the last epoch is the result.

Determinism: one seed drives initialization, batch order and augmentation;
``torch.use_deterministic_algorithms(True)`` and a fixed thread count make two runs give
byte-identical model files on the same machine and torch build (tested). Different thread counts
may change float reduction order and hence the result.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .architectures import build
from .data import load_split

__all__ = ["TrainSettings", "TrainResult", "configure_torch", "recalibrate_batchnorm", "train"]


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters (``"training"`` in ``design.json``)."""

    epochs: int = 60
    seed: int = 0
    lr: float = 0.005
    batch_size: int = 64
    max_shift: int = 1

    @classmethod
    def from_config(cls, config, **overrides):
        """Settings from a ``design.json`` ``"training"`` object; ``None`` overrides are ignored."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"training: unknown setting {unknown[0]!r} (known: {sorted(known)})")
        values = {**config, **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**values)


@dataclass
class TrainResult:
    net: object
    seconds: float
    history: list = field(default_factory=list)


def configure_torch(threads=1):
    """Deterministic CPU execution with ``threads`` intra-op threads."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def _shift_images(images, max_shift, generator):
    """Each image moved by a random ``(dy, dx)`` in ``[-max_shift, max_shift]``, zero fill."""
    if max_shift == 0:
        return images
    b, c, h, w = images.shape
    m = max_shift
    padded = F.pad(images, (m, m, m, m))
    offsets = torch.randint(0, 2 * m + 1, (2, b), generator=generator)
    rows = (offsets[0][:, None] + torch.arange(h)[None])[:, :, None]      # (B, H, 1)
    cols = (offsets[1][:, None] + torch.arange(w)[None])[:, None, :]      # (B, 1, W)
    batch = torch.arange(b)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)

def recalibrate_batchnorm(net, images):
    """Set every batch norm's running statistics to the population statistics of ``images``.

    One full-batch training-mode pass without augmentation with momentum 1 (the running
    statistics become that batch's), so the exported statistics belong to the final weights
    rather than a moving average over the last steps.
    """
    from .layers import BatchNorm

    norms = [m for m in net.modules() if isinstance(m, BatchNorm)]
    saved = [m.momentum for m in norms]
    for norm in norms:
        norm.momentum = 1.0
    net.train()
    with torch.no_grad():
        net(images)
    for norm, momentum in zip(norms, saved):
        norm.momentum = momentum
    net.eval()


def _accuracy(net, images, labels):
    net.eval()
    with torch.no_grad():
        predictions = net(images).argmax(1)
    return float((predictions == labels).double().mean())


def train(name, architecture=None, settings=TrainSettings(), log=print, split=None):
    """Train design ``name`` (builder kwargs ``architecture``) with ``settings``.

    Returns
    -------
    TrainResult
        The network (eval mode), wall-clock seconds and one dict per epoch.
    """
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    net = build(name, **(architecture or {}))
    split = split or load_split()
    images = torch.tensor(np.array(split.train_images), dtype=torch.float32)
    labels = torch.tensor(np.array(split.train_labels))
    test_images = torch.tensor(np.array(split.test_images))
    test_labels = torch.tensor(np.array(split.test_labels))
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    steps_per_epoch = -(-len(images) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, settings.epochs * steps_per_epoch))
    latent = [m.weight for m in net.modules() if getattr(m, "latent_clip", False)]
    started = time.monotonic()
    history = []
    for epoch in range(1, settings.epochs + 1):
        net.train()
        order = torch.randperm(len(images), generator=generator)
        total, correct, loss_sum = 0, 0, 0.0
        for start in range(0, len(images), settings.batch_size):
            index = order[start:start + settings.batch_size]
            batch = _shift_images(images[index], settings.max_shift, generator)
            logits = net(batch)
            loss = F.cross_entropy(logits, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                for weight in latent:
                    weight.clamp_(-1.0, 1.0)
            total += len(index)
            correct += int((logits.argmax(1) == labels[index]).sum())
            loss_sum += float(loss.detach()) * len(index)
        record = {"epoch": epoch, "loss": loss_sum / total, "train_accuracy": correct / total,
                  "held_out_accuracy": _accuracy(net, test_images, test_labels),
                  "seconds": time.monotonic() - started}
        history.append(record)
        log(f"{name} epoch {epoch:3d}/{settings.epochs}  loss {record['loss']:.4f}  "
            f"train {100 * record['train_accuracy']:5.1f}%  "
            f"held-out (integer) {100 * record['held_out_accuracy']:5.1f}%  "
            f"{record['seconds']:6.1f} s")
    recalibrate_batchnorm(net, images)
    accuracy = _accuracy(net, test_images, test_labels)
    history.append({"recalibrated": True, "held_out_accuracy": accuracy})
    log(f"{name} batch norms recalibrated on the training images: held-out (integer) "
        f"{100 * accuracy:5.1f}%")
    net.eval()
    return TrainResult(net, time.monotonic() - started, history)
