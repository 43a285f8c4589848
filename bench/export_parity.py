"""How closely the graphs the page runs (capsnet/export.py, weights stored small) follow the model, with ONNX Runtime
on the CPU:

    python -m bench.export_parity [--checkpoint PATH] [--data-dir DIR] [--digits 10000]

The live path against model(x) on MNIST's test digits: the longest capsule the same (target: on at least 99.9% of
them) and the largest difference of the lengths (target: within 0.01) and of the poses; then the decoder against
model.decode on 2,000 random poses over the sliders' range, in grey levels of the page's 8-bit pictures.
tests/test_export.py checks the same bounds on fewer digits.
"""

import argparse

import numpy as np
import onnxruntime
import torch

from bench.common import add_model_and_data_flags, model_from, test_set
from capsnet.export import DECODER_INPUTS, INPUT, decoder_onnx_bytes, onnx_bytes

AGREEMENT_TARGET = 0.999
LENGTHS_TARGET = 0.01
BATCH = 500
RANDOM_POSES = 2000


def live_path_outputs(model, images: torch.Tensor) -> tuple[np.ndarray, ...]:
    """(lengths, poses) of the exported live path and of model(x), each (N, 10) and (N, 10, 16)."""
    live = onnxruntime.InferenceSession(onnx_bytes(model), providers=["CPUExecutionProvider"])
    got, expected = [], []
    for batch in images.split(BATCH):
        got.append(live.run(["lengths", "poses"], {INPUT: batch.numpy()}))
        with torch.inference_mode():
            result = model(batch)
        expected.append((result.lengths.numpy(), result.poses.numpy()))
    return tuple(np.concatenate(parts) for parts in (*zip(*got), *zip(*expected)))


def decoder_difference(model) -> float:
    """The largest difference of a pixel between the decoder graph and model.decode, on random poses over the
    sliders' range (-0.8..0.8) placed in all ten capsules in turn."""
    generator = torch.Generator().manual_seed(0)
    poses = torch.rand(RANDOM_POSES, model.config.digit_dim, generator=generator) * 1.6 - 0.8
    digits = torch.arange(RANDOM_POSES) % model.config.num_classes
    decoder = onnxruntime.InferenceSession(decoder_onnx_bytes(model), providers=["CPUExecutionProvider"])
    images = decoder.run(None, dict(zip(DECODER_INPUTS, (poses.numpy(), digits.numpy()))))[0]
    with torch.inference_mode():
        return float(np.abs(images - model.decode(poses, digits).numpy()).max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_and_data_flags(p)
    p.add_argument("--digits", type=int, default=10_000, help="MNIST test digits (default: all 10,000)")
    args = p.parse_args()
    model = model_from(args)
    images = test_set(args)[0][:args.digits]
    lengths, poses, model_lengths, model_poses = live_path_outputs(model, images)
    agreement = (lengths.argmax(1) == model_lengths.argmax(1)).mean()
    largest = np.abs(lengths - model_lengths).max()
    print(f"live path vs model(x), {len(images):,} MNIST test digits:")
    print(f"  longest capsule the same: {agreement:.2%} (target >= {AGREEMENT_TARGET:.1%}: "
          f"{'met' if agreement >= AGREEMENT_TARGET else 'NOT met'})")
    print(f"  lengths, largest difference: {largest:.4f} (target <= {LENGTHS_TARGET}: "
          f"{'met' if largest <= LENGTHS_TARGET else 'NOT met'})")
    print(f"  poses, largest difference: {np.abs(poses - model_poses).max():.4f}")
    pixels = decoder_difference(model)
    print(f"decoder vs model.decode, {RANDOM_POSES:,} random poses: largest difference {pixels:.2e} "
          f"({pixels * 255:.3f}/255)")


if __name__ == "__main__":
    main()
