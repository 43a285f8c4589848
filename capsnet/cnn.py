"""A conventional CNN baseline for MNIST, trained the same way as the CapsNet (train.py --model cnn).

The paper's baseline (Sabour et al. 2017, Section 5) has three convolutional layers of 256, 256 and 128
channels and two fully connected layers of 328 and 192 units: 35.4M parameters, too heavy to train on a
2-core CPU. Ours is the small classic (LeNet-like, as in TensorFlow's "Deep MNIST for experts" tutorial,
with 256 hidden units instead of 1024):

    conv 5x5, 32 channels, ReLU, max-pool 2x2   (B, 32, 14, 14)
    conv 5x5, 64 channels, ReLU, max-pool 2x2   (B, 64, 7, 7)
    dropout 0.5, fully connected 3136 -> 256, ReLU, dropout 0.5, fully connected 256 -> 10

857,738 parameters. Its test accuracy and training run are in checkpoints/cnn-mnist/README.md.
Max-pooling is what the paper argues against: it keeps whether a feature is present and throws away
where exactly it was, so the network is invariant, not equivariant, to small changes.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class CNNConfig:
    image_size: int = 28
    channels: tuple[int, int] = (32, 64)  # of the two convolutions
    kernel_size: int = 5  # padded ("same"): only the pooling halves the image
    hidden: int = 256  # units of the fully connected layer
    dropout: float = 0.5  # before each fully connected layer, in training only
    num_classes: int = 10

    @property
    def pooled_size(self) -> int:
        return self.image_size // 4  # two 2x2 poolings: 28 -> 7


@dataclass
class CNNOutput:
    logits: torch.Tensor  # (B, 10) before the softmax; cross-entropy trains on them

    @property
    def probabilities(self) -> torch.Tensor:
        return self.logits.float().softmax(dim=1)  # (B, 10), summing to 1: one digit is there, never none or two


class CNN(nn.Module):
    def __init__(self, config: CNNConfig | None = None, **overrides):
        super().__init__()
        cfg = config or CNNConfig(**overrides)
        self.config = cfg
        c1, c2 = cfg.channels
        self.conv1 = nn.Conv2d(1, c1, cfg.kernel_size, padding=cfg.kernel_size // 2)
        self.conv2 = nn.Conv2d(c1, c2, cfg.kernel_size, padding=cfg.kernel_size // 2)
        self.fc1 = nn.Linear(c2 * cfg.pooled_size**2, cfg.hidden)
        self.fc2 = nn.Linear(cfg.hidden, cfg.num_classes)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> CNNOutput:
        """x: (B, 1, 28, 28) pixels in [0, 1]."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 32, 14, 14)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, 64, 7, 7)
        h = F.relu(self.fc1(self.dropout(h.flatten(1))))  # (B, 256)
        return CNNOutput(self.fc2(self.dropout(h)))  # (B, 10)


def class_scores(out) -> torch.Tensor:
    """What ranks the 10 digits in either model's output -> (B, 10): a CapsNet's capsule lengths, or the
    CNN's probabilities."""
    return out.probabilities if isinstance(out, CNNOutput) else out.lengths
