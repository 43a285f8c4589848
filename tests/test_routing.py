import pytest
import torch

from capsnet import capsule_length, route, routing_steps, squash


def test_squash_keeps_direction():
    s = torch.tensor([[3.0, 4.0], [-0.1, 0.2]])
    v = squash(s)
    cosine = (v * s).sum(-1) / (v.norm(dim=-1) * s.norm(dim=-1))
    assert torch.allclose(cosine, torch.ones(2))


def test_squash_maps_norm_to_below_one_as_eq1():
    # norms from 1e-3 to 1e2: beyond that float32 rounds 1 - 1/norm^2 up to exactly 1
    s = torch.randn(100, 16) * torch.logspace(-3, 2, 100).unsqueeze(1)
    norm = s.norm(dim=-1)
    expected = norm**2 / (1 + norm**2)
    assert torch.allclose(squash(s).norm(dim=-1), expected, atol=1e-6)
    assert (squash(s).norm(dim=-1) < 1).all()


def test_squash_is_finite_with_finite_gradient_at_zero():
    s = torch.zeros(3, 16, requires_grad=True)
    v = squash(s)
    v.sum().backward()
    assert torch.equal(v, torch.zeros_like(v))
    assert torch.isfinite(s.grad).all()


def test_capsule_length_has_finite_gradient_at_zero():
    v = torch.zeros(2, 10, 16, requires_grad=True)
    capsule_length(v).sum().backward()
    assert torch.isfinite(v.grad).all()


def test_coupling_coefficients_sum_to_one_over_parents_at_every_iteration():
    u_hat = torch.randn(4, 1152, 10, 16) * 0.1
    for iterations in (1, 2, 3, 5):  # the last c of r iterations is the c of iteration r
        _, c = route(u_hat, iterations)
        assert c.shape == (4, 1152, 10)
        assert torch.allclose(c.sum(dim=2), torch.ones(4, 1152), atol=1e-6)


def test_one_iteration_gives_uniform_coupling():
    _, c = route(torch.randn(2, 1152, 10, 16), iterations=1)
    assert torch.allclose(c, torch.full_like(c, 0.1))


def test_routing_raises_coupling_to_the_parent_that_agrees():
    # every input predicts the same vector for parent 3 and noise for the others
    u_hat = torch.randn(1, 32, 10, 8) * 0.05
    u_hat[:, :, 3] = torch.tensor([0.5] * 8)
    _, c = route(u_hat, iterations=3)
    assert (c[0].argmax(dim=1) == 3).all()


def test_routing_returns_squashed_parents():
    v, _ = route(torch.randn(2, 1152, 10, 16), iterations=3)
    assert v.shape == (2, 10, 16)
    assert (v.norm(dim=-1) < 1).all()


def test_routing_steps_yield_every_iteration_and_end_where_route_ends():
    u_hat = torch.randn(2, 1152, 10, 16) * 0.1
    steps = list(routing_steps(u_hat, 3))
    v, c = route(u_hat, 3)
    assert len(steps) == 3
    assert torch.equal(steps[-1][0], v) and torch.equal(steps[-1][1], c)
    assert torch.allclose(steps[0][1], torch.full_like(c, 0.1))


def test_routing_refuses_zero_iterations():
    with pytest.raises(ValueError, match="at least 1 iteration"):
        route(torch.randn(1, 8, 10, 16), iterations=0)
