r"""Data the chapters train on. Nothing here needs a network unless you ask for MNIST.

* :func:`digits_subset`: real handwritten digits shipped with scikit-learn (8×8, 1,797 images),
  deterministic, normalized, optionally upsampled to 28×28 so the paper's MNIST architectures apply
  unchanged.
* :func:`whitened_regression`: synthetic regression with exactly whitened inputs,
  :math:`\tfrac1n XX^\top = I`, so that :math:`\tfrac1{2n}\|WX - Y\|_F^2 = \tfrac12\|W - \Phi\|_F^2 +
  \text{const}` with :math:`\Phi = \tfrac1n YX^\top` (the setting of the deep-linear theory).
* :func:`mnist_subset`: the paper's 1,000 MNIST training images (indices 0, 50, …, 49,950), read
  from the official IDX files (downloaded and MD5-checked only with ``download=True``).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import urllib.request
from pathlib import Path

import numpy as np
import torch

__all__ = ["digits_subset", "whitened_regression", "mnist_subset", "read_idx", "MNIST_MEAN", "MNIST_STD"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the normalization of the paper's code
MNIST_FILES = {  # official files and their MD5 checksums
    "images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def digits_subset(n: int = 1000, size: int = 8, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n`` real handwritten digits from scikit-learn, as ``(X, y)`` with ``X`` of shape ``(n, 1, size, size)``.

    Images are taken in the data set's fixed order (the first ``n`` whose label is below ``classes``),
    scaled to :math:`[0, 1]` and normalized like the paper's MNIST,
    :math:`x \mapsto (x - 0.1307)/0.3081`. ``size = 28`` upsamples bilinearly (after padding the 8×8
    image by 1 pixel, as MNIST digits sit inside a blank border) so the paper's architectures apply.
    The result is identical on every run and every machine.
    """
    from sklearn.datasets import load_digits

    if not (isinstance(size, int) and size >= 8):
        raise ValueError(f"size must be an integer >= 8 (8 keeps the original images), got {size!r}")
    if not (isinstance(classes, int) and 2 <= classes <= 10):
        raise ValueError(f"classes must be an integer in [2, 10], got {classes!r}")
    digits = load_digits()
    keep = np.flatnonzero(digits.target < classes)
    if not (isinstance(n, int) and 1 <= n <= len(keep)):
        raise ValueError(f"n must be an integer in [1, {len(keep)}] for {classes} classes, got {n!r}")
    keep = keep[:n]
    X = torch.tensor(digits.images[keep] / 16.0, dtype=torch.float64).unsqueeze(1)
    if size != 8:
        X = torch.nn.functional.pad(X, (1, 1, 1, 1))
        X = torch.nn.functional.interpolate(X, size=(size, size), mode="bilinear", align_corners=False)
    X = (X - MNIST_MEAN) / MNIST_STD
    return X, torch.tensor(digits.target[keep], dtype=torch.long)


def whitened_regression(
    n: int, d_in: int, d_out: int, generator: torch.Generator, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Inputs ``X`` (``d_in × n``) with :math:`\tfrac1n XX^\top = I` exactly, targets
    :math:`Y = \Phi X + \text{noise}` (``d_out × n``), and :math:`\Phi = \tfrac1n Y X^\top` (``d_out × d_in``).

    Columns are samples. :math:`\Phi` is drawn with i.i.d. :math:`\mathcal N(0, 1/d_{in})` entries.
    """
    if not (isinstance(n, int) and isinstance(d_in, int) and n >= d_in >= 1 and isinstance(d_out, int) and d_out >= 1):
        raise ValueError(f"need integers n >= d_in >= 1 and d_out >= 1, got n={n!r}, d_in={d_in!r}, d_out={d_out!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    G = torch.randn(n, d_in, generator=generator, dtype=torch.float64)
    Q, _ = torch.linalg.qr(G)  # orthonormal columns: QᵀQ = I
    X = math.sqrt(n) * Q.T
    Phi = torch.randn(d_out, d_in, generator=generator, dtype=torch.float64) / math.sqrt(d_in)
    Y = Phi @ X + noise * torch.randn(d_out, n, generator=generator, dtype=torch.float64)
    return X, Y, Y @ X.T / n


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format; gzip-compressed or not) into an unsigned-byte array.

    Raises ``ValueError`` naming the file when it is not a well-formed IDX file of unsigned bytes.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{path}: corrupt gzip data ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header promises shape {shape} ({expected} bytes) but the file has {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _fetch(root: Path, name: str, md5: str | None, download: bool) -> Path:
    path = root / name
    if not path.exists():
        if not download:
            raise FileNotFoundError(
                f"{path} is missing: pass download=True (needs internet), or put the official MNIST file there"
            )
        root.mkdir(parents=True, exist_ok=True)
        errors = []
        for mirror in MNIST_MIRRORS:
            try:
                urllib.request.urlretrieve(mirror + name, path)
                break
            except OSError as err:
                errors.append(f"{mirror}: {err}")
        else:
            raise OSError(f"could not download {name}: " + "; ".join(errors))
    if md5 is not None and _md5(path) != md5:
        raise ValueError(f"{path}: checksum mismatch (MD5 {_md5(path)}, expected {md5}); delete it and retry")
    return path


def mnist_subset(
    root: str | Path = "~/.cache/gfteach/mnist",
    indices=range(0, 50_000, 50),
    download: bool = False,
    checksums: dict[str, str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's MNIST training subset as ``(X, y)``, ``X`` of shape ``(len(indices), 1, 28, 28)``, normalized.

    Files are looked for (and with ``download=True`` downloaded and cached) in ``root``; each is checked
    against the official MD5 (``checksums`` overrides them, e.g. for test files; ``{}`` disables the check).
    """
    root = Path(root).expanduser()
    md5 = {key: md5 for key, (_, md5) in MNIST_FILES.items()} if checksums is None else checksums
    images = read_idx(_fetch(root, MNIST_FILES["images"][0], md5.get("images"), download))
    labels = read_idx(_fetch(root, MNIST_FILES["labels"][0], md5.get("labels"), download))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST files disagree: images {images.shape}, labels {labels.shape}")
    idx = np.asarray(list(indices))
    if idx.size == 0 or idx.min() < 0 or idx.max() >= len(images):
        raise ValueError(f"indices must lie in [0, {len(images)}), got min {idx.min()} max {idx.max()}")
    X = torch.tensor(images[idx] / 255.0, dtype=torch.float64).unsqueeze(1)
    return (X - MNIST_MEAN) / MNIST_STD, torch.tensor(labels[idx].astype(np.int64))
