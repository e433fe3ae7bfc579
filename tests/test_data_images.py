from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.errors import UserError


def write_png(path: Path, size=(12, 10), color=(200, 30, 30), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size[1], size[0]), color if mode == "RGB" else color[0]).save(path)


def make_folder(root: Path) -> Path:
    for i in range(3):
        write_png(root / "cats" / f"{i}.png", color=(250, 0, 0))
        write_png(root / "dogs" / "inner" / f"{i}.jpg", color=(0, 0, 250))
    return root


def test_mnist_loads_from_the_verified_copy(shared_data):
    source = load_data(DataConfig(name="mnist", root=str(shared_data)))
    assert source.images.shape == (60000, 1, 28, 28) and source.images.dtype == torch.uint8
    assert source.labels.unique().tolist() == list(range(10))
    test = load_data(DataConfig(name="mnist", root=str(shared_data), split="test"))
    assert len(test) == 10000


@pytest.mark.slow
def test_cifar10_reads_the_jpeg_archive_without_unpacking(shared_data):
    source = load_data(DataConfig(name="cifar10", root=str(shared_data), split="test"))
    assert source.images.shape == (10000, 3, 32, 32)
    assert source.class_names[:3] == ["airplane", "automobile", "bird"]
    assert torch.bincount(source.labels).tolist() == [1000] * 10


def test_folder_subfolders_become_classes_and_images_are_resized(tmp_path):
    folder = make_folder(tmp_path / "pets")
    source = load_data(DataConfig(name=str(folder), image_size="8x6"))
    assert source.shape.dims == (3, 8, 6) and source.shape.num_classes == 2
    assert source.class_names == ["cats", "dogs/inner"]
    reds = source.images[source.labels == 0]
    assert (reds[:, 0] > 200).all() and (reds[:, 2] < 50).all()


def test_grayscale_folder_stays_one_channel(tmp_path):
    for i in range(2):
        write_png(tmp_path / "g" / f"{i}.png", mode="L", color=(90,))
    assert load_data(DataConfig(name=str(tmp_path / "g"))).shape.dims == (1, 12, 10)


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "pets")
    first = load_data(DataConfig(name=str(folder)))
    monkeypatch.setattr("mspgsen.data.folder._decode_all", lambda *a: pytest.fail("decoded twice"))
    assert torch.equal(load_data(DataConfig(name=str(folder))).images, first.images)


def test_corrupt_image_is_a_clear_error_or_skipped_on_request(tmp_path, capsys):
    folder = make_folder(tmp_path / "pets")
    (folder / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(UserError, match=r"cannot read image .*broken\.png.*data.on_corrupt=skip"):
        load_data(DataConfig(name=str(folder)))
    source = load_data(DataConfig(name=str(folder), on_corrupt="skip"))
    assert len(source) == 6 and source.skipped == 1
    printed = capsys.readouterr()
    assert "skipped 1 unreadable image(s) (data.on_corrupt=skip):" in printed.out and "broken.png" in printed.out
    assert "Warning" not in printed.out + printed.err and printed.out.count("\n") == 1


def test_images_of_different_sizes_need_an_image_size(tmp_path):
    write_png(tmp_path / "mixed" / "a.png", size=(12, 10))
    write_png(tmp_path / "mixed" / "b.png", size=(20, 20))
    with pytest.raises(UserError, match="different sizes.*--image-size"):
        load_data(DataConfig(name=str(tmp_path / "mixed")))
    assert load_data(DataConfig(name=str(tmp_path / "mixed"), image_size="16")).shape.dims == (3, 16, 16)


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images found"):
        load_data(DataConfig(name=str(tmp_path / "empty")))


def test_npz_in_either_layout_and_range_gives_the_same_images(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "nhwc.npz", images=pixels)
    np.savez(tmp_path / "nchw.npz", x=pixels.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1)
    a = load_data(DataConfig(name=str(tmp_path / "nhwc.npz"))).images
    b = load_data(DataConfig(name=str(tmp_path / "nchw.npz"))).images
    assert a.shape == (5, 3, 8, 8) and torch.equal(a, b)


@pytest.mark.parametrize("images, message", [
    (np.full((4, 8, 8), "0.5"), r"holds <U3 values, not pixels"),
    (np.zeros((4, 8, 8), complex), r"holds complex128 values, not pixels"),
    (np.zeros((4, 8, 8), bool), r"holds bool values, not pixels"),
    (np.full((4, 8, 8), 10**12, np.int64), r"integers from 1e\+12 to 1e\+12; pixel values are 0-255"),
    (np.full((4, 8, 8), -3.0), r"floats from -3 to -3; images must lie in \[-1, 1\]"),
    (np.linspace(-1, 200, 256).reshape(4, 8, 8), r"below 0 reads as \[-1, 1\], above 1 as \[0, 255\]"),
])
def test_npz_values_that_are_not_pixels_are_one_clear_error(tmp_path, images, message):
    np.savez(tmp_path / "bad.npz", images=images)
    with pytest.raises(UserError, match=message):
        load_data(DataConfig(name=str(tmp_path / "bad.npz")))


def test_integer_pixels_load_and_labels_must_be_integers(tmp_path):
    pixels = np.arange(4 * 8 * 8).reshape(4, 8, 8) % 256
    np.savez(tmp_path / "ints.npz", images=pixels.astype(np.int64))
    assert load_data(DataConfig(name=str(tmp_path / "ints.npz"))).images.flatten()[:3].tolist() == [0, 1, 2]
    np.savez(tmp_path / "labels.npz", images=pixels.astype(np.uint8), labels=np.array(["cat", "dog", "cat", "dog"]))
    with pytest.raises(UserError, match=r"labels holds <U3 values; class labels must be integers"):
        load_data(DataConfig(name=str(tmp_path / "labels.npz")))


def test_a_file_that_is_not_an_archive_is_named_as_such(tmp_path):
    (tmp_path / "notes.npz").write_text("these are my notes")
    with pytest.raises(UserError, match=r"not a zip of NumPy arrays") as raised:
        load_data(DataConfig(name=str(tmp_path / "notes.npz")))
    assert "pickle" not in str(raised.value)
    np.save(tmp_path / "one.npy", np.zeros((4, 8, 8), np.uint8))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(UserError, match=r"holds one NumPy array, not an .npz archive"):
        load_data(DataConfig(name=str(tmp_path / "one.npz")))


def test_npz_without_images_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "bad.npz", weights=np.zeros(3), other=np.zeros(4))
    with pytest.raises(UserError, match="holds no image array"):
        load_data(DataConfig(name=str(tmp_path / "bad.npz")))


def test_non_square_source_is_resized_and_cropped_like_seed_002(tmp_path):
    np.savez(tmp_path / "faces.npz", images=np.zeros((4, 218, 178, 3), np.uint8))
    assert load_data(DataConfig(name=str(tmp_path / "faces.npz"), image_size="200")).shape.dims == (3, 200, 200)
    with pytest.raises(UserError, match="cannot center-crop 218x178 images to 200x200"):
        load_data(DataConfig(name=str(tmp_path / "faces.npz"), image_size="200", resize="center-crop"))


@pytest.mark.parametrize("size", ["2", "0x5", "abc", "5000"])
def test_impossible_image_sizes_are_refused(tiny_images, size):
    with pytest.raises(UserError, match="image size"):
        load_data(DataConfig(name=str(tiny_images), image_size=size))


def test_named_set_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(UserError, match=r"mnist not found under .*MNIST/raw"):
        load_data(DataConfig(name="mnist", root=str(tmp_path), download=False))
    with pytest.raises(UserError, match="cifar10 not found under"):
        load_data(DataConfig(name="cifar10", root=str(tmp_path), download=False))


def test_image_stream_resumes_mid_epoch_and_covers_every_image(tiny_images):
    source = load_data(DataConfig(name=str(tiny_images)))
    stream = source.stream(16, seed=1, device=torch.device("cpu"))
    first_epoch = torch.cat([stream.next().x for _ in range(3)])
    assert len(torch.unique(first_epoch.flatten(1), dim=0)) == 48  # each image once per epoch
    saved = stream.state_dict()
    expected = [stream.next().x for _ in range(4)]
    stream.load_state_dict(saved)
    assert all(torch.equal(e, stream.next().x) for e in expected)
    assert float(first_epoch.min()) >= -1 and float(first_epoch.max()) <= 1


def test_batch_larger_than_the_data_set_is_a_clear_error(tiny_images):
    with pytest.raises(UserError, match="fewer than the batch size"):
        load_data(DataConfig(name=str(tiny_images))).stream(64, 0, torch.device("cpu"))
