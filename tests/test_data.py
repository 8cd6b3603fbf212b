"""gfteach.data: deterministic digits, exactly whitened regression, an MNIST loader tested offline (its
download path too, from a local mirror), and clear errors for corrupt files."""

import gzip
import hashlib

import numpy as np
import pytest
import torch

from gfteach import data
from gfteach.data import MNIST_MEAN, MNIST_STD, digits_subset, mnist_subset, read_idx, whitened_regression


def test_digits_subset_is_identical_across_calls_and_normalized_like_mnist():
    X1, y1 = digits_subset(300)
    X2, y2 = digits_subset(300)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert X1.shape == (300, 1, 8, 8) and X1.dtype == torch.float64
    # pixel 0 (blank) maps to -mean/std; the brightest pixel (16/16) to (1 - mean)/std
    assert X1.min().item() == pytest.approx(-MNIST_MEAN / MNIST_STD)
    assert X1.max().item() == pytest.approx((1 - MNIST_MEAN) / MNIST_STD)
    assert set(y1.tolist()) == set(range(10))
    # a fixed fingerprint: the same digits on every machine
    assert y1[:10].tolist() == list(range(10))


def test_digits_upsampling_keeps_the_image_and_the_labels():
    X8, y8 = digits_subset(50)
    X28, y28 = digits_subset(50, size=28)
    assert X28.shape == (50, 1, 28, 28) and torch.equal(y8, y28)
    # averaging back down recovers the coarse image (up to the 1-pixel border added before upsampling)
    back = torch.nn.functional.interpolate(X28, size=(10, 10), mode="area")[..., 1:-1, 1:-1]
    assert torch.corrcoef(torch.stack([back.flatten(), X8.flatten()]))[0, 1] > 0.9


def test_digits_classes_filter_and_bad_arguments():
    X, y = digits_subset(100, classes=2)
    assert set(y.tolist()) == {0, 1}
    assert digits_subset(np.int64(5))[0].shape[0] == 5  # NumPy integers are integers
    with pytest.raises(ValueError, match="n must be an integer"):
        digits_subset(5000)
    with pytest.raises(ValueError, match="classes must be"):
        digits_subset(10, classes=11)
    with pytest.raises(ValueError, match="size must be"):
        digits_subset(10, size=4)


def test_whitened_regression_is_exactly_whitened_and_phi_is_the_cross_covariance():
    g = torch.Generator().manual_seed(0)
    X, Y, Phi = whitened_regression(200, 5, 3, g, noise=0.1)
    n = X.shape[1]
    assert torch.allclose(X @ X.T / n, torch.eye(5, dtype=torch.float64), atol=1e-12)

    # ½·mean‖WX − Y‖² = ½‖W − Φ‖² + const for every W
    def loss(W):
        return 0.5 * ((W @ X - Y) ** 2).sum() / n

    W1, W2 = torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g, dtype=torch.float64)
    lhs = loss(W1) - loss(W2)
    rhs = 0.5 * ((W1 - Phi) ** 2).sum() - 0.5 * ((W2 - Phi) ** 2).sum()
    assert lhs.item() == pytest.approx(rhs.item(), rel=1e-10)
    with pytest.raises(ValueError, match="n >= d_in"):
        whitened_regression(3, 5, 1, g)


def test_whitened_regression_is_reproducible_and_never_uses_global_randomness():
    a = whitened_regression(20, 3, 2, 7)
    b = whitened_regression(20, 3, 2, torch.Generator().manual_seed(7))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    with pytest.raises(TypeError, match="generator must be a torch.Generator or an integer seed"):
        whitened_regression(20, 3, 2, None)


def write_idx(path, array, compress=True):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_mnist(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(120, 28, 28))
    labels = rng.integers(0, 10, size=120)
    md5 = {
        "images": write_idx(tmp_path / "train-images-idx3-ubyte.gz", images),
        "labels": write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels),
    }
    return tmp_path, images, labels, md5


def test_mnist_loader_parses_generated_idx_files(fake_mnist):
    root, images, labels, md5 = fake_mnist
    X, y = mnist_subset(root, indices=range(0, 120, 50), checksums=md5)
    assert X.shape == (3, 1, 28, 28)
    assert y.tolist() == labels[[0, 50, 100]].tolist()
    assert torch.allclose(X[1, 0], torch.tensor((images[50] / 255 - MNIST_MEAN) / MNIST_STD))
    X2, _ = mnist_subset(str(root), indices=np.array([50]), checksums=md5)
    assert torch.equal(X2[0], X[1])


def test_mnist_download_path_works_from_a_local_mirror(fake_mnist, tmp_path, monkeypatch):
    """The download branch, offline: the 'mirror' is a folder reached through a file:// URL."""
    mirror, _, labels, md5 = fake_mnist
    monkeypatch.setattr(data, "MNIST_MIRRORS", ("file:///nonexistent-gfteach-mirror/", mirror.as_uri() + "/"))
    cache = tmp_path / "cache"
    X, y = mnist_subset(cache, indices=[3, 4], download=True, checksums=md5)
    assert y.tolist() == labels[[3, 4]].tolist() and (cache / "train-labels-idx1-ubyte.gz").exists()
    monkeypatch.setattr(data, "MNIST_MIRRORS", ("file:///nonexistent-gfteach-mirror/",))
    with pytest.raises(OSError, match="could not download"):
        mnist_subset(tmp_path / "elsewhere", indices=[0], download=True, checksums=md5)


def test_mnist_loader_rejects_a_corrupt_or_missing_file_clearly(fake_mnist, tmp_path):
    root, _, _, md5 = fake_mnist
    with pytest.raises(ValueError, match="checksum mismatch"):
        mnist_subset(root, indices=[0], checksums={**md5, "labels": "0" * 32})
    # the official checksums reject our generated files
    with pytest.raises(ValueError, match="checksum mismatch"):
        mnist_subset(root, indices=[0])
    broken = root / "train-labels-idx1-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:-7])
    with pytest.raises(ValueError, match="corrupt gzip"):
        mnist_subset(root, indices=[0], checksums={})
    with pytest.raises(FileNotFoundError, match="download=True"):
        mnist_subset(tmp_path / "empty", indices=[0])
    write_idx(broken, np.zeros(120))
    with pytest.raises(ValueError, match="indices must lie in"):
        mnist_subset(root, indices=[500], checksums={})
    with pytest.raises(ValueError, match="indices must not be empty"):
        mnist_subset(root, indices=[], checksums={})


def test_read_idx_turns_a_corrupt_gzip_body_into_a_value_error(tmp_path):
    good = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(range(200)))
    bad = tmp_path / "body.gz"
    bad.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:40]) + good[40:])  # zlib.error inside gzip
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(bad)
    (tmp_path / "ok.gz").write_bytes(good)
    assert read_idx(tmp_path / "ok.gz").tolist() == list(range(200))


def test_read_idx_rejects_wrong_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx(bad)
    write_idx(bad, np.arange(10), compress=False)
    bad.write_bytes(bad.read_bytes()[:-2])
    with pytest.raises(ValueError, match="promises shape"):
        read_idx(bad)
    bad.write_bytes(b"\x00\x00\x08\x03\x00")
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(bad)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing.idx")
