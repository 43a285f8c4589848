"""Squash and routing-by-agreement (Sabour et al. 2017, eq. 1 and Procedure 1)."""

from collections.abc import Iterator

import torch
import torch.nn.functional as F

# Keeps squash and capsule lengths finite, in value and gradient, at a zero vector.
EPS = 1e-8


def capsule_length(v: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """||v||, computed so that its gradient at v = 0 is finite."""
    return torch.sqrt((v.float() ** 2).sum(dim) + EPS)


def squash(s: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Eq. 1: v = ||s||^2 / (1 + ||s||^2) * s / ||s||.

    Short vectors shrink to almost zero length and long ones to just below 1,
    so a capsule's length can be read as the probability that its entity is
    present. The norm is taken in float32 even under bf16 autocast.
    """
    s = s.float()
    squared_norm = (s**2).sum(dim, keepdim=True)
    return s * (squared_norm / (1 + squared_norm) / torch.sqrt(squared_norm + EPS))


def routing_steps(u_hat: torch.Tensor, iterations: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Procedure 1, dynamic routing between a capsule layer and its parents, one iteration at a time.

    u_hat: prediction vectors u_hat_{j|i}, shape (B, inputs, parents, dim).
    Yields, after each iteration, the parent capsules v_j (B, parents, dim) and
    the coupling coefficients c_ij that made them (B, inputs, parents).
    """
    if iterations < 1:
        raise ValueError(f"routing needs at least 1 iteration, got {iterations}")
    # Parent-major layout makes both sums over i plain batched matmuls (2x faster than einsum's copies).
    u_hat = u_hat.transpose(1, 2).contiguous()  # (B, 10, 1152, 16)
    b = u_hat.new_zeros(u_hat.shape[:3], dtype=torch.float32)  # (B, 10, 1152) logits b_ij
    for iteration in range(iterations):
        c = F.softmax(b, dim=1)  # each input i splits itself over the 10 parents
        s = (c.unsqueeze(2).to(u_hat.dtype) @ u_hat).squeeze(2)  # (B, 10, 16) s_j = sum_i c_ij u_hat_j|i
        v = squash(s)  # (B, 10, 16)
        yield v, c.transpose(1, 2)
        if iteration < iterations - 1:
            # agreement u_hat_j|i . v_j raises the logits of parents that agree with i's prediction
            b = b + (u_hat @ v.unsqueeze(3).to(u_hat.dtype)).squeeze(3)  # (B, 10, 1152)


def route(u_hat: torch.Tensor, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Procedure 1: the parent capsules v_j (B, parents, dim) and the coupling
    coefficients c_ij of the last iteration (B, inputs, parents).

    u_hat: prediction vectors u_hat_{j|i}, shape (B, inputs, parents, dim).
    """
    *_, (v, c) = routing_steps(u_hat, iterations)
    return v, c
