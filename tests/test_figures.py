import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from capsnet import CapsNet, CapsNetConfig, figures


@pytest.fixture
def trace(model):
    with torch.inference_mode():
        return model.trace(torch.rand(2, 1, 28, 28))


def test_perturbations_are_those_of_the_papers_figure_4():
    assert len(figures.PERTURBATIONS) == 11
    assert figures.PERTURBATIONS[0] == -0.25 and figures.PERTURBATIONS[-1] == 0.25
    assert np.allclose(np.diff(figures.PERTURBATIONS), 0.05)


def test_perturbation_grid_has_a_row_per_dimension_and_a_column_per_perturbation(model):
    grid = figures.perturbation_grid(model, torch.randn(16) * 0.2, digit=3)
    assert grid.shape == (16, 11, 28, 28)


def test_perturbation_grid_middle_column_is_the_unperturbed_reconstruction(model):
    pose = torch.randn(16) * 0.2
    grid = figures.perturbation_grid(model, pose, digit=3)
    plain = model.decode(pose[None], torch.tensor([3]))[0, 0]
    for dim in range(16):
        assert torch.allclose(grid[dim, 5], plain, atol=1e-6)


def test_perturbation_grid_moves_only_the_dimension_of_its_row(model):
    pose = torch.randn(16) * 0.2
    grid = figures.perturbation_grid(model, pose, digit=3)
    moved = pose.clone()
    moved[4] += figures.PERTURBATIONS[0]
    assert torch.allclose(grid[4, 0], model.decode(moved[None], torch.tensor([3]))[0, 0], atol=1e-6)


def test_coupling_mosaic_is_uniform_at_the_first_iteration(trace):
    mosaic = figures.coupling_mosaic(trace, digit=7)
    assert mosaic.shape == (3, 32, 6, 6)
    assert torch.equal(mosaic[0], torch.full((32, 6, 6), 0.1))


def test_coupling_mosaic_places_capsule_type_row_col_as_primary_capsules_do(trace):
    mosaic = figures.coupling_mosaic(trace, digit=7, sample=1)
    for iteration in range(3):
        for kind, row, col in [(0, 0, 0), (1, 2, 3), (31, 5, 5), (17, 4, 0)]:
            i = kind * 36 + row * 6 + col
            assert mosaic[iteration, kind, row, col] == trace.coupling[iteration, 1, i, 7]


def test_vote_shares_are_the_digits_fraction_of_all_votes(trace):
    lengths = trace.predictions[0].norm(dim=-1)  # (1152, 10)
    expected = [(c[0, :, 2] * lengths[:, 2]).sum() / (c[0] * lengths).sum() for c in trace.coupling]
    assert torch.allclose(figures.vote_shares(trace, digit=2), torch.stack(expected), atol=1e-6)


def test_vote_shares_sum_to_one_over_the_digits(trace):
    total = sum(figures.vote_shares(trace, digit, sample=1) for digit in range(10))
    assert torch.allclose(total, torch.ones(3), atol=1e-5)


@pytest.mark.parametrize("iteration", [0, 1, 2])
def test_vote_map_sums_to_the_vote_share(trace, iteration):
    vote_map = figures.vote_map(trace, digit=4, iteration=iteration, sample=1)
    assert vote_map.shape == (28, 28)
    assert torch.isclose(vote_map.sum(), figures.vote_shares(trace, digit=4, sample=1)[iteration], atol=1e-6)


def test_vote_map_spreads_a_grid_cell_over_its_17_pixel_receptive_field():
    cells = torch.zeros(6, 6)
    cells[2, 4] = 1.0
    spread = figures.spread_over_input(cells, CapsNetConfig())
    inside = spread[4:21, 8:25]  # input rows 2*2 .. 2*2+16, columns 2*4 .. 2*4+16
    assert torch.allclose(inside, torch.full((17, 17), 1 / 289))
    assert torch.isclose(spread.sum(), torch.tensor(1.0))


def test_agreement_maps_equal_u_hat_dot_unit_v(trace):
    maps = figures.agreement_maps(trace, digit=6, sample=1)
    v = trace.poses[-1, 1, 6]
    i = 9 * 36 + 1 * 6 + 5  # type 9 at row 1, column 5
    expected = torch.dot(trace.predictions[1, i, 6], v) / v.norm()
    assert maps.shape == (32, 6, 6)
    assert torch.isclose(maps[9, 1, 5], expected, atol=1e-6)


def test_types_by_agreement_puts_the_most_agreeing_type_first(trace):
    order = figures.types_by_agreement(trace, digit=6)
    totals = figures.agreement_maps(trace, digit=6).sum((1, 2))
    assert sorted(order.tolist()) == list(range(32))
    assert (totals[order].diff() <= 0).all()


def test_all_reconstructions_decode_each_capsule_from_its_own_pose(model):
    poses = torch.randn(10, 16) * 0.2
    images = figures.all_reconstructions(model, poses)
    assert images.shape == (10, 1, 28, 28)
    assert torch.allclose(images[8], model.decode(poses[8:9], torch.tensor([8]))[0], atol=1e-6)


def test_tile_puts_tiles_one_gap_apart():
    images = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    picture = figures.tile(images, fill=-1)
    assert picture.shape == (2 * 3 - 1, 3 * 3 - 1)
    assert np.array_equal(picture[3:5, 6:8], images[1, 2])
    assert (picture[2] == -1).all() and (picture[:, 5] == -1).all()


def rendered(fig: Figure) -> Image.Image:
    assert isinstance(fig, Figure)
    png = figures.figure_png(fig)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_figure4_renders_to_png(model):
    image = rendered(figures.figure4(model, torch.randn(16) * 0.2, digit=5))
    assert image.width > 300 and image.height > 400


def test_figures_leave_no_pyplot_figures_open(model):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figures.figure_png(figures.figure4(model, torch.randn(16) * 0.2, digit=5))
    assert plt.get_fignums() == before


OTHER_ARCHITECTURE = CapsNetConfig(conv1_channels=32, kernel_size=7, primary_stride=3, primary_channels=12,
                                   primary_dim=4, digit_dim=8, routing_iterations=2, decoder_hidden=(32, 64))


@pytest.fixture(scope="module")
def other_model():
    torch.manual_seed(0)
    return CapsNet(OTHER_ARCHITECTURE).eval()


def test_explainer_numbers_take_their_sizes_from_the_models_config(other_model):
    cfg = other_model.config  # 12 types on a 6x6 grid (kernel 7, stride 3), 8-D digit capsules
    with torch.inference_mode():
        trace = other_model.trace(torch.rand(1, 1, 28, 28))
        assert figures.coupling_mosaic(trace, digit=2).shape == (2, 12, 6, 6)
        assert figures.agreement_maps(trace, digit=2).shape == (12, 6, 6)
        assert sorted(figures.types_by_agreement(trace, digit=2).tolist()) == list(range(12))
        assert torch.allclose(figures.vote_maps(trace, digit=2).sum((1, 2)), figures.vote_shares(trace, digit=2))
        assert figures.perturbation_grid(other_model, torch.zeros(8), digit=2).shape == (8, 11, 28, 28)
        rendered(figures.figure4(other_model, torch.zeros(8), digit=2))
    assert figures.receptive_field(cfg) == (13, 3)


def test_the_coupling_scale_is_centred_on_an_even_split():
    assert figures.coupling_range(CapsNetConfig()) == pytest.approx((0.05, 0.1, 0.2))
