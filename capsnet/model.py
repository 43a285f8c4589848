"""CapsNet for MNIST: Conv1 -> PrimaryCapsules -> DigitCapsules -> Decoder (Sabour et al. 2017, Fig. 1 and 2)."""

import operator
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fast_conv import Conv2dAsMatmul
from .routing import capsule_length, route, routing_steps, squash


@dataclass(frozen=True)
class CapsNetConfig:
    image_size: int = 28
    conv1_channels: int = 256
    kernel_size: int = 9
    primary_channels: int = 32  # capsule types in PrimaryCaps
    primary_dim: int = 8
    primary_stride: int = 2
    num_classes: int = 10  # DigitCaps: one capsule per digit
    digit_dim: int = 16
    routing_iterations: int = 3
    weight_init_std: float = 0.01  # small W: routing starts from near-uniform agreement
    decoder_hidden: tuple[int, int] = (512, 1024)

    @property
    def primary_grid(self) -> int:
        conv1_out = self.image_size - self.kernel_size + 1  # 20
        return (conv1_out - self.kernel_size) // self.primary_stride + 1  # 6

    @property
    def num_primary_capsules(self) -> int:
        return self.primary_channels * self.primary_grid**2  # 32 * 6 * 6 = 1152


@dataclass
class CapsNetOutput:
    lengths: torch.Tensor  # (B, 10) capsule lengths: presence of each digit, not a softmax
    poses: torch.Tensor  # (B, 10, 16) the DigitCaps vectors v_j
    reconstruction: torch.Tensor  # (B, 1, 28, 28) decoded from the masked capsule
    coupling: torch.Tensor  # (B, 1152, 10) routing coefficients c_ij of the last iteration
    primary: torch.Tensor  # (B, 1152, 8) the squashed primary capsules u_i: CapsNet.route re-runs routing from them


def valid_iterations(iterations) -> bool:
    """A whole number (int or numpy integer, not bool or float) of at least 1."""
    try:
        return not isinstance(iterations, bool) and operator.index(iterations) >= 1
    except TypeError:
        return False


@dataclass
class CapsNetTrace:
    """One forward pass seen from inside: what routing did, iteration by iteration (r iterations)."""

    primary: torch.Tensor | None  # (N, 1152, 8) squashed primary capsules u_i; None when routed from u_hat alone
    predictions: torch.Tensor  # (N, 1152, 10, 16) prediction vectors u_hat_j|i = W_ij u_i
    coupling: torch.Tensor  # (r, N, 1152, 10) coupling coefficients c_ij used in each iteration
    poses: torch.Tensor  # (r, N, 10, 16) digit capsules v_j after each iteration
    lengths: torch.Tensor  # (r, N, 10) their lengths
    config: CapsNetConfig  # the architecture: how the 1152 primary capsules lie, as 32 types on a 6x6 grid


def traced_routing(u_hat: torch.Tensor, iterations: int, config: CapsNetConfig,
                   primary: torch.Tensor | None = None) -> CapsNetTrace:
    """Procedure 1 on the predictions u_hat_j|i (N, 1152, 10, 16) with every iteration kept: a CapsNetTrace, whose
    primary capsules are primary if given (capsnet.explain routes from u_hat alone, as the page has it)."""
    poses, coupling = zip(*routing_steps(u_hat, iterations))
    poses = torch.stack(poses)  # (r, N, 10, 16)
    return CapsNetTrace(primary, u_hat, torch.stack(coupling), poses, capsule_length(poses), config)


class PrimaryCapsules(nn.Module):
    """A 9x9 stride-2 convolution whose 256 channels form 32 types of 8-D capsules on a 6x6 grid."""

    def __init__(self, cfg: CapsNetConfig):
        super().__init__()
        self.cfg = cfg
        # an nn.Conv2d computed partly as matmuls on the CPU, for faster training steps (fast_conv.py, docs/speed.md)
        self.conv = Conv2dAsMatmul(
            cfg.conv1_channels,
            cfg.primary_channels * cfg.primary_dim,
            cfg.kernel_size,
            stride=cfg.primary_stride,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg, batch = self.cfg, x.shape[0]
        u = self.conv(x)  # (B, 256, 6, 6)
        # A capsule's 8 values are 8 channels at one grid position: split channels
        # into (type, dim) first, then move dim last, so positions never mix.
        u = u.view(batch, cfg.primary_channels, cfg.primary_dim, cfg.primary_grid, cfg.primary_grid)
        u = u.permute(0, 1, 3, 4, 2)  # (B, 32, 6, 6, 8)
        return squash(u.reshape(batch, cfg.num_primary_capsules, cfg.primary_dim))  # (B, 1152, 8)


class DigitCapsules(nn.Module):
    """One 16-D capsule per digit, fed by all 1152 primary capsules through routing-by-agreement."""

    def __init__(self, cfg: CapsNetConfig):
        super().__init__()
        self.iterations = cfg.routing_iterations
        # W_ij: a 16x8 matrix for every (primary capsule i, digit capsule j)
        self.W = nn.Parameter(
            cfg.weight_init_std
            * torch.randn(cfg.num_primary_capsules, cfg.num_classes, cfg.digit_dim, cfg.primary_dim)
        )  # (1152, 10, 16, 8)

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """u (B, 1152, 8) -> v_j (B, 10, 16) and the last coupling coefficients c_ij (B, 1152, 10)."""
        return route(self.predictions(u), self.iterations)

    def predictions(self, u: torch.Tensor) -> torch.Tensor:
        """u_i (B, 1152, 8) -> u_hat_j|i (B, 1152, 10, 16)."""
        batch, inputs, _ = u.shape
        # u_hat_{j|i} = W_ij u_i as one matmul per input capsule i over the whole batch.
        # Broadcasting W over the batch instead would copy it B times (755 MB at B = 128).
        W = self.W.flatten(1, 2).transpose(1, 2)  # (1152, 8, 160)
        u_hat = torch.bmm(u.transpose(0, 1), W)  # (1152, B, 160)
        return u_hat.view(inputs, batch, *self.W.shape[1:3]).transpose(0, 1)  # (B, 1152, 10, 16), a view


class Decoder(nn.Module):
    """Reconstructs the 28x28 image from one digit capsule; the other nine are zeroed."""

    def __init__(self, cfg: CapsNetConfig):
        super().__init__()
        hidden1, hidden2 = cfg.decoder_hidden
        self.image_size = cfg.image_size
        self.net = nn.Sequential(
            nn.Linear(cfg.num_classes * cfg.digit_dim, hidden1),
            nn.ReLU(inplace=True),
            nn.Linear(hidden1, hidden2),
            nn.ReLU(inplace=True),
            nn.Linear(hidden2, cfg.image_size**2),
            nn.Sigmoid(),
        )

    def forward(self, poses: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        """poses (B, 10, 16); digits (B,) -> (B, 1, 28, 28), or (B, K) -> (B, K, 1, 28, 28): one drawing per capsule."""
        mask = F.one_hot(digits, poses.shape[1]).to(poses.dtype)  # (B, [K,] 10)
        masked = poses.unsqueeze(-3) * mask.view(poses.shape[0], -1, poses.shape[1], 1)  # (B, K, 10, 16)
        return self.net(masked.flatten(2)).view(*digits.shape, 1, self.image_size, self.image_size)


class CapsNet(nn.Module):
    def __init__(self, config: CapsNetConfig | None = None, **overrides):
        super().__init__()
        cfg = config or CapsNetConfig(**overrides)
        self.config = cfg
        self.conv1 = nn.Conv2d(1, cfg.conv1_channels, cfg.kernel_size)
        self.primary_capsules = PrimaryCapsules(cfg)
        self.digit_capsules = DigitCapsules(cfg)
        self.decoder = Decoder(cfg)
        # NHWC conv weights let oneDNN skip layout reorders (docs/speed.md). Only the convolutions':
        # W in those strides would be copied on every forward pass.
        for conv in (self.conv1, self.primary_capsules.conv):
            conv.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> CapsNetOutput:
        """x: (B, 1, 28, 28) pixels in [0, 1]. labels: the capsule to decode (training; (B, 2) decodes two, as for
        MultiMNIST), else the longest."""
        u = self.primary(x)  # (B, 1152, 8)
        v, c = self.digit_capsules(u)  # (B, 10, 16), (B, 1152, 10)
        lengths = capsule_length(v)  # (B, 10)
        digits = lengths.argmax(dim=1) if labels is None else labels
        return CapsNetOutput(lengths, v, self.decoder(v, digits).float(), c, u)

    def primary(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28, 28) -> the squashed primary capsules u_i (B, 1152, 8)."""
        h = F.relu(self.conv1(x))  # (B, 256, 20, 20)
        return self.primary_capsules(h)

    def trace(self, x: torch.Tensor, iterations: int | None = None) -> CapsNetTrace:
        """x (N, 1, 28, 28) -> every routing iteration of the forward pass, for looking inside.

        iterations: re-run routing with that many iterations (1 or more) on the same weights
        (default: the model's own, 3, and then the last iteration equals
        model(x) exactly). model(x) records nothing, so tracing costs it nothing.
        """
        return self.route(self.primary(x), iterations)

    def route(self, u: torch.Tensor, iterations: int | None = None) -> CapsNetTrace:
        """trace from the primary capsules u (N, 1152, 8), e.g. model(x).primary: routing only, no convolution."""
        if iterations is None:
            iterations = self.digit_capsules.iterations
        elif not valid_iterations(iterations):
            raise ValueError(f"iterations must be a whole number of at least 1, got {iterations!r}")
        return traced_routing(self.digit_capsules.predictions(u), iterations, self.config, u)

    def decode(self, pose: torch.Tensor, digit: torch.Tensor) -> torch.Tensor:
        """pose (N, 16) placed in capsule digit (N,) -> reconstruction (N, 1, 28, 28)."""
        # pose in every capsule (N, 10, 16), a view: the decoder keeps only capsule digit's, as it masks the others
        poses = pose.unsqueeze(1).expand(-1, self.config.num_classes, -1)
        return self.decoder(poses, digit).float()
