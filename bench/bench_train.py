"""Training and inference speed of capsnet against the straightforward broadcast implementation.

    python -m bench.bench_train            # all figures, about 2 minutes on 2 cores

Prints the machine's measured GEMM peak (fp32, and bf16 where the CPU has bf16
arithmetic) and the FLOPs of a training step, hence the ceiling in images/s;
images/s of a full training step (forward + loss + backward + Adam) at
batch 128 for our model in fp32 and bf16 autocast (where the CPU has bf16
arithmetic), for the same model with its speed trick switched off
(capsnet/fast_conv.py), and for the reference, all measured in this process
on the same inputs, alternating so that machine noise hits them alike; the
ratios to the reference and the fractions of the ceiling;
single-image inference and decode latency; and the peak RSS of a fresh process
doing batch-128 training steps. Memory is allocated as train.py does it (glibc
keeps freed memory, see capsnet.memory.keep_freed_memory).
"""

import argparse
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from capsnet import CapsNet, capsule_loss
from capsnet.fast_conv import Conv2dAsMatmul
from capsnet.routing import squash
from capsnet.device import native_bf16
from capsnet.memory import keep_freed_memory

REPO = Path(__file__).resolve().parent.parent
BATCH = 128
GEMM_SIZE = 2048  # square matrices: large enough for the peak, 17 GFLOP (a fraction of a second) per product
# Without bf16 in hardware autocast emulates it, 14x slower than fp32 on an AVX2 CPU: nothing to measure.
BF16 = native_bf16(torch.device("cpu"))
NO_BF16 = "  capsnet bf16 autocast: skipped, this CPU has no bf16 arithmetic (train.py uses fp32 here)"


class BroadcastDigitCapsules(nn.Module):
    """REFERENCE ONLY, the pattern of popular public CapsNets: u_hat = W @ u with W broadcast over the batch.

    torch.matmul expands W (1, 1152, 10, 16, 8) to (B, 1152, 10, 16, 8) and
    copies it: 755 MB at B = 128. Routing is the usual elementwise version.
    """

    def __init__(self, W: torch.Tensor, iterations: int):
        super().__init__()
        self.W = nn.Parameter(W.detach().clone().unsqueeze(0))  # (1, 1152, 10, 16, 8)
        self.iterations = iterations

    def forward(self, u):
        u_hat = torch.matmul(self.W, u[:, :, None, :, None]).squeeze(-1)  # (B, 1152, 10, 16)
        b = torch.zeros(*u_hat.shape[:3], 1)
        for iteration in range(self.iterations):
            c = torch.softmax(b, dim=2)
            v = squash((c * u_hat).sum(dim=1))  # (B, 10, 16)
            if iteration < self.iterations - 1:
                b = b + (u_hat * v.unsqueeze(1)).sum(-1, keepdim=True)
        return v, c.squeeze(-1)


def plain_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """A plain nn.Conv2d with conv's weights (ours computes parts of it as matmuls on the CPU, capsnet/fast_conv.py)."""
    plain = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride)
    plain.load_state_dict(conv.state_dict())
    return plain.to(memory_format=torch.channels_last)


def without_fast_conv(step):
    """The same model's step with PrimaryCaps' convolution run as the plain nn.Conv2d: what capsnet.fast_conv gains."""

    def plain_step(x, y):
        with mock.patch.object(Conv2dAsMatmul, "forward", nn.Conv2d.forward):
            step(x, y)

    return plain_step


def reference_model(model: CapsNet) -> CapsNet:
    """REFERENCE ONLY: the same weights as popular public CapsNets run them
    (plain convolutions, broadcast W, default NCHW layout)."""
    reference = CapsNet(model.config)
    reference.load_state_dict(model.state_dict())
    reference.primary_capsules.conv = plain_conv(reference.primary_capsules.conv)
    reference.digit_capsules = BroadcastDigitCapsules(model.digit_capsules.W, model.config.routing_iterations)
    return reference.to(memory_format=torch.contiguous_format)


def make_step(model: CapsNet, bf16: bool):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

    def step(x, y):
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
            out = model(x, y)
            loss = capsule_loss(out.lengths, y, out.reconstruction, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def gemm_peak(dtype: torch.dtype, repeats: int = 5) -> float:
    """GFLOP/s of the fastest of a few square matrix products: what this machine's BLAS reaches at best."""
    a, b = torch.randn(GEMM_SIZE, GEMM_SIZE, dtype=dtype), torch.randn(GEMM_SIZE, GEMM_SIZE, dtype=dtype)
    a @ b  # warm-up
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2 * GEMM_SIZE**3 / best / 1e9


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def step_gflop_per_image(batch: int = 16) -> float:
    """FLOPs of forward + loss + backward, counted by PyTorch (matmuls and convolutions; the rest is tiny)."""
    model = CapsNet()
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        out = model(x, y)
        capsule_loss(out.lengths, y, out.reconstruction, x).backward()
    return counter.get_total_flops() / batch / 1e9


def ceilings() -> dict:
    """images/s the GEMM peak would allow, per precision measured."""
    per_image = step_gflop_per_image()
    peaks = {"fp32": gemm_peak(torch.float32)} | ({"bf16": gemm_peak(torch.bfloat16)} if BF16 else {})
    print(f"ceiling: a training step is {per_image:.2f} GFLOP per image (torch.utils.flop_counter)")
    for precision, peak in peaks.items():
        print(f"  {precision} GEMM peak {peak:6.0f} GFLOP/s ({GEMM_SIZE}x{GEMM_SIZE})  ->  ceiling {peak / per_image:5.0f} images/s")
    return {precision: peak / per_image for precision, peak in peaks.items()}


def training_speed(rounds: int, ceiling: dict) -> None:
    torch.manual_seed(0)
    x, y = torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,))
    ours = CapsNet()
    precisions = ("fp32", "bf16") if BF16 else ("fp32",)
    steps = {"reference (broadcast W, fp32)": make_step(reference_model(ours), bf16=False)}
    for precision in precisions:
        step = make_step(CapsNet(ours.config), bf16=precision == "bf16")
        steps[f"capsnet {precision}"] = step
        steps[f"capsnet {precision}, plain conv"] = without_fast_conv(step)
    times = {name: [] for name in steps}
    for name, step in steps.items():
        step(x, y)  # warm-up: allocator, oneDNN kernels
    names = list(steps)
    for round_ in range(rounds):
        # each round starts one further along: no implementation always runs right after the 3 GB reference
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            steps[name](x, y)
            times[name].append(time.perf_counter() - start)
    rates = {name: BATCH / statistics.median(t) for name, t in times.items()}
    print(f"training step, batch {BATCH}, median of {rounds} alternating rounds ({torch.get_num_threads()} threads); "
          "speed-ups: the median of each round's ratio")
    reference = times["reference (broadcast W, fp32)"]
    for name, rate in rates.items():
        precision = "bf16" if "bf16" in name else "fp32"
        print(f"  {name:32s} {rate:7.1f} images/s   {speedup(reference, times[name]):4.2f}x reference   "
              f"{rate / ceiling[precision]:4.0%} of the {precision} ceiling")
    for fast in (f"capsnet {precision}" for precision in precisions):
        print(f"  capsnet/fast_conv.py gains {speedup(times[f'{fast}, plain conv'], times[fast]):4.2f}x in {fast}")
    if not BF16:
        print(NO_BF16)


def speedup(slow: list[float], fast: list[float]) -> float:
    """The median over rounds of one round's ratio: drift of the machine between rounds biases it less."""
    return statistics.median(s / f for s, f in zip(slow, fast))


def median_ms(fn, repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def latency() -> None:
    model = CapsNet().eval()
    x = torch.rand(1, 1, 28, 28)
    pose, digit = torch.randn(1, 16) * 0.2, torch.tensor([3])
    with torch.inference_mode():
        forward = median_ms(lambda: model(x), 200)
        decode = median_ms(lambda: model.decode(pose, digit), 1000)
    print("inference, batch 1, inference mode, median")
    print(f"  model(x)       {forward:6.2f} ms   (target <= 8 ms)")
    print(f"  model.decode   {decode:6.3f} ms   (target <= 1 ms)")


def peak_rss_child(which: str) -> None:
    torch.manual_seed(0)
    x, y = torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,))
    model = CapsNet()
    step = make_step(reference_model(model), bf16=False) if which == "reference" else make_step(model, which == "bf16")
    for _ in range(3):
        step(x, y)
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec
    status = Path("/proc/self/status").read_text()
    print(next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024)  # KiB


def peak_rss() -> None:
    print(f"peak RSS of a fresh process doing batch-{BATCH} training steps (target <= 1200 MB for capsnet)")
    for which in ("bf16", "fp32", "reference") if BF16 else ("fp32", "reference"):
        out = subprocess.run([sys.executable, "-m", "bench.bench_train", "--peak-rss-child", which], cwd=REPO,
                             capture_output=True, text=True, check=True)
        print(f"  {which:10s} {float(out.stdout):7.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=10, help="timed steps per implementation (default: 10)")
    p.add_argument("--peak-rss-child", choices=["bf16", "fp32", "reference"], help=argparse.SUPPRESS)
    args = p.parse_args()
    keep_freed_memory()  # as train.py does, for every implementation measured here
    if args.peak_rss_child:
        return peak_rss_child(args.peak_rss_child)
    training_speed(args.rounds, ceilings())
    latency()
    peak_rss()


if __name__ == "__main__":
    main()
