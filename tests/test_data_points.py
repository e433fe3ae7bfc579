import math

import torch

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.data.points import grid_centers, ring_centers


def test_ring8_has_eight_distinct_modes_at_multiples_of_45_degrees():
    centers = ring_centers()
    assert len(torch.unique(centers.round(decimals=6), dim=0)) == 8
    angles = torch.atan2(centers[:, 1].double(), centers[:, 0].double()) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8, dtype=torch.float64) * math.pi / 4, atol=1e-6)
    assert torch.allclose(centers.norm(dim=1), torch.ones(8))


def test_grid25_centres_are_the_pacgan_grid():
    coords = sorted({float(v) for v in grid_centers().flatten()})
    assert coords == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len(torch.unique(grid_centers(), dim=0)) == 25


def test_protocol_parameters_are_settable():
    ring = load_data(DataConfig(name="ring8", radius=2.0, std=0.05))  # DynGAN's code
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0)) and ring.std == 0.05
    grid = load_data(DataConfig(name="grid25", spacing=1.0, std=0.1))
    assert float(grid.centers.max()) == 2.0 and grid.std == 0.1


def test_mixture_samples_have_the_configured_spread():
    grid = load_data(DataConfig(name="grid25"))
    samples = grid.sample(20000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(samples, grid.centers).argmin(dim=1)
    residual = samples - grid.centers[nearest]
    assert abs(float(residual.std()) - 0.05) < 0.002
    assert len(torch.unique(nearest)) == 25


def test_point_stream_resumes_exactly():
    stream = load_data(DataConfig(name="ring8")).stream(8, seed=3, device=torch.device("cpu"))
    stream.next()
    saved = stream.state_dict()
    expected = [stream.next().x for _ in range(3)]
    stream.load_state_dict(saved)
    assert all(torch.equal(a, stream.next().x) for a in expected)


def test_image_options_on_point_data_are_refused():
    import pytest

    from mspgsen.errors import UserError

    with pytest.raises(UserError, match="data.image_size applies to images, but grid25 is a set of 2-D points"):
        load_data(DataConfig(name="grid25", image_size="32"))
