r"""Data the chapters train on. Nothing here touches the network unless you explicitly ask for it.

* :func:`digits_subset`: real handwritten digits shipped with scikit-learn (8×8, 1,797 images),
  deterministic, normalized like the paper's MNIST, optionally upsampled to 28×28 so the paper's MNIST
  architectures apply unchanged. This is what the book uses: it needs no download.
* :func:`whitened_regression`: synthetic regression with exactly whitened inputs,
  :math:`\tfrac1n XX^\top = I`, so that :math:`\tfrac1{2n}\|WX - Y\|_F^2 = \tfrac12\|W - \Phi\|_F^2 +
  \text{const}` with :math:`\Phi = \tfrac1n YX^\top` (the setting of the deep-linear theory).
* :func:`mnist_subset`: the paper's 1,000 MNIST training images (indices 0, 50, …, 49,950), read
  from the official IDX files in a local folder. It downloads them (and checks their MD5) only with
  ``download=True``; otherwise a missing file is a clear ``FileNotFoundError``, never a network call.
  :func:`read_idx` parses one IDX file and turns every kind of corruption into a ``ValueError``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import torch

from ._checks import allocation, flag, integer, real, show
from .nets import as_generator

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
    size = integer("size", size, minimum=8)
    classes = integer("classes", classes, minimum=2)
    if classes > 10:
        raise ValueError(f"classes must be an integer in [2, 10], got {classes}")
    n = integer("n", n, minimum=1)
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.flatnonzero(digits.target < classes)
    if n > len(keep):
        raise ValueError(f"n must be an integer in [1, {len(keep)}] for {classes} classes, got {n}")
    keep = keep[:n]
    allocation("size", n * size * size, f"{n} image(s) of {size}×{size} pixels")
    X = torch.tensor(digits.images[keep] / 16.0, dtype=torch.float64).unsqueeze(1)
    if size != 8:
        X = torch.nn.functional.pad(X, (1, 1, 1, 1))
        X = torch.nn.functional.interpolate(X, size=(size, size), mode="bilinear", align_corners=False)
    X = (X - MNIST_MEAN) / MNIST_STD
    return X, torch.tensor(digits.target[keep], dtype=torch.long)


def whitened_regression(
    n: int, d_in: int, d_out: int, generator, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Inputs ``X`` (``d_in × n``) with :math:`\tfrac1n XX^\top = I` exactly, targets
    :math:`Y = \Phi X + \text{noise}` (``d_out × n``), and :math:`\Phi = \tfrac1n Y X^\top` (``d_out × d_in``).

    Columns are samples. :math:`\Phi` is drawn with i.i.d. :math:`\mathcal N(0, 1/d_{in})` entries from
    ``generator`` (a ``torch.Generator`` or an integer seed; ``None`` is an error, so results reproduce).
    """
    n, d_in, d_out = integer("n", n, minimum=1), integer("d_in", d_in, minimum=1), integer("d_out", d_out, minimum=1)
    if n < d_in:
        raise ValueError(f"need n >= d_in (n samples can whiten at most n input dimensions), got n={n}, d_in={d_in}")
    noise = real("noise", noise, nonnegative=True)
    generator = as_generator(generator)
    allocation("n", n * d_in, f"a {d_in} × {n} input matrix")
    allocation("d_out", d_out * n, f"a {d_out} × {n} target matrix")
    G = torch.randn(n, d_in, generator=generator, dtype=torch.float64)
    Q, _ = torch.linalg.qr(G)  # orthonormal columns: QᵀQ = I
    X = math.sqrt(n) * Q.T
    Phi = torch.randn(d_out, d_in, generator=generator, dtype=torch.float64) / math.sqrt(d_in)
    Y = Phi @ X + noise * torch.randn(d_out, n, generator=generator, dtype=torch.float64)
    return X, Y, Y @ X.T / n


def _path(name: str, value) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {show(value)}")
    return Path(value).expanduser()


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format; gzip-compressed or not) into an unsigned-byte array.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file when it is not a
    well-formed IDX file of unsigned bytes (corrupt or truncated gzip data included).
    """
    path = _path("path", path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt gzip data ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape)
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
                f"{path} is missing: put the official MNIST file there, or pass download=True (needs internet)"
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


def _indices(indices) -> np.ndarray:
    if isinstance(indices, (str, bytes)) or indices is None or not hasattr(indices, "__iter__"):
        raise TypeError(f"indices must be a sequence of integers, got {show(indices)}")
    values = indices.tolist() if hasattr(indices, "tolist") else list(indices)
    if not isinstance(values, list):
        raise TypeError(f"indices must be a 1-D sequence of integers, got {indices!r}")
    idx = [integer(f"indices[{k}]", i, minimum=0) for k, i in enumerate(values)]
    if not idx:
        raise ValueError("indices must not be empty (which images to take?)")
    return np.asarray(idx, dtype=np.int64)


def mnist_subset(
    root="~/.cache/gfteach/mnist",
    indices=range(0, 50_000, 50),
    download: bool = False,
    checksums: dict[str, str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's MNIST training subset as ``(X, y)``, ``X`` of shape ``(len(indices), 1, 28, 28)``, normalized.

    Files are looked for in ``root`` (and, only with ``download=True``, downloaded there once); each is
    checked against the official MD5 (``checksums`` overrides them, e.g. for test files; ``{}`` disables
    the check). The book itself never calls this: it runs on :func:`digits_subset`, offline.
    """
    root = _path("root", root)
    idx = _indices(indices)
    download = flag("download", download)
    if checksums is not None and not isinstance(checksums, dict):
        raise TypeError(f"checksums must be a dict of MD5 strings or None, got {show(checksums)}")
    md5 = {key: md5 for key, (_, md5) in MNIST_FILES.items()} if checksums is None else checksums
    images = read_idx(_fetch(root, MNIST_FILES["images"][0], md5.get("images"), download))
    labels = read_idx(_fetch(root, MNIST_FILES["labels"][0], md5.get("labels"), download))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST files disagree: images {images.shape}, labels {labels.shape}")
    if idx.max() >= len(images):
        raise ValueError(f"indices must lie in [0, {len(images)}), got one at {int(idx.max())}")
    X = torch.tensor(images[idx] / 255.0, dtype=torch.float64).unsqueeze(1)
    return (X - MNIST_MEAN) / MNIST_STD, torch.tensor(labels[idx].astype(np.int64))
