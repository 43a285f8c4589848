"""The demo's example digits: MNIST test images as small PNGs, a few of them ones the shipped model gets wrong.

    python -m scripts.make_examples [--per-digit 2] [--wrong 4] [--pairs 8] [--out demo/examples] [--data-dir ../shared/mnist]

Classifies the 10,000 test images with the shipped checkpoint, then writes,
in test-set order, the first --per-digit images of each digit that it gets
right and the first --wrong images that it gets wrong, as 28x28 gray PNGs
named NN-trueD.png (D the true digit), plus index.json and README.md listing
file, true digit and the model's prediction. Every example is also run the way
the demo runs an upload (capsnet.read_image, then capsnet.preprocess) and kept
only if that gives the same prediction, so a wrong example stays wrong on the page.

For two-digit mode it also writes the first --pairs MNIST test pairs (capsnet.multimnist.fixed_pairs
with TEST_PAIR_SEED, the pairs every pair model is tested on) as pair-NN-AandB.png, listed in pairs.json.
"""

import argparse
import io
import json
from pathlib import Path

import torch
from PIL import Image

from bench.common import add_model_and_data_flags, model_from, test_set
from capsnet import preprocess, read_image
from capsnet.multimnist import TEST_PAIR_SEED, fixed_pairs

REPO = Path(__file__).resolve().parent.parent
BATCH = 500

README = """# Example digits

{count} handwritten digits from the MNIST test set (Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, http://yann.lecun.com/exdb/mnist/), as 28x28 gray PNGs,
so that the demo has examples where MNIST itself is absent. {wrong} of them are
digits the shipped model (`checkpoints/capsnet-mnist`) gets wrong; the file
name gives the true digit. Made by `python -m scripts.make_examples`; `index.json`
lists the same.

| file | MNIST test index | true digit | model's prediction |
| --- | --- | --- | --- |
{rows}

## Two digits over each other

{pair_count} pairs for the page's two-digit mode: the first MNIST test pairs of digits not paired before that
`capsnet.multimnist.fixed_pairs(test images, test labels, TEST_PAIR_SEED)` makes (each test image
over a test digit of another class, each shifted, added and framed as the pair model was trained on),
as 28x28 gray PNGs; the file name gives the two digits. `pairs.json` lists the same.

| file | test pair | digits |
| --- | --- | --- |
{pair_rows}
"""


def predictions(model, images: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model(batch).lengths.argmax(dim=1) for batch in images.split(BATCH)])


def png_bytes(image: torch.Tensor) -> bytes:
    """(1, 28, 28) in [0, 1] -> an 8-bit gray PNG, as MNIST stores it (white digit on black)."""
    pixels = (image[0] * 255).round().to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def as_uploaded(model, png: bytes) -> int:
    """The prediction for the PNG the way the demo sees an upload."""
    with torch.inference_mode():
        return int(model(preprocess(read_image(png))).lengths.argmax())


def choose(model, images, labels, predicted, per_digit: int, wrong: int) -> list[dict]:
    """Test-set order: the first per_digit right answers of each digit and the first wrong ones,
    each kept only if the demo's path predicts the same."""
    wanted = {digit: per_digit for digit in range(10)}
    chosen, wrong_left = [], wrong
    for index in range(len(images)):
        label, guess = int(labels[index]), int(predicted[index])
        right = label == guess
        if (right and wanted[label] == 0) or (not right and wrong_left == 0):
            continue
        png = png_bytes(images[index])
        if as_uploaded(model, png) != guess:
            continue
        chosen.append({"index": index, "label": label, "prediction": guess, "png": png})
        if right:
            wanted[label] -= 1
        else:
            wrong_left -= 1
        if wrong_left == 0 and not any(wanted.values()):
            break
    return sorted(chosen, key=lambda e: (e["label"] != e["prediction"], e["label"], e["index"]))


def write_pairs(out: Path, images: torch.Tensor, labels: torch.Tensor, count: int) -> list[dict]:
    """The first count test pairs of two digits not paired before, as PNGs in out, and pairs.json listing them."""
    pairs, pair_labels, _ = fixed_pairs(images, labels, TEST_PAIR_SEED)
    for old in out.glob("pair-*.png"):
        old.unlink()
    index, seen = [], set()
    for number, digits in enumerate(pair_labels.tolist()):
        if len(index) == count:
            break
        if frozenset(digits) in seen:
            continue
        seen.add(frozenset(digits))
        name = "pair-{:02d}-{}and{}.png".format(len(index), *digits)
        (out / name).write_bytes(png_bytes(pairs[number]))
        index.append({"file": name, "test_pair": number, "labels": digits})
    (out / "pairs.json").write_text(json.dumps(index, indent=1) + "\n")
    return index


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-digit", type=int, default=2, help="right answers of each digit (default: 2)")
    p.add_argument("--wrong", type=int, default=4, help="wrong answers (default: 4)")
    p.add_argument("--pairs", type=int, default=8, help="test pairs of two digits (default: 8)")
    p.add_argument("--out", type=Path, default=REPO / "demo" / "examples", help="default: demo/examples")
    add_model_and_data_flags(p)
    args = p.parse_args()
    model = model_from(args)
    images, labels = test_set(args)
    predicted = predictions(model, images)
    print(f"the model gets {int((predicted != labels).sum())} of {len(labels)} test images wrong")
    examples = choose(model, images, labels, predicted, args.per_digit, args.wrong)

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*-true*.png"):
        old.unlink()
    index = []
    for number, example in enumerate(examples):
        name = f"{number:02d}-true{example['label']}.png"
        (args.out / name).write_bytes(example.pop("png"))
        index.append({"file": name, "mnist_test_index": example["index"], "label": example["label"],
                      "prediction": example["prediction"]})
    (args.out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    rows = "\n".join(f"| {e['file']} | {e['mnist_test_index']} | {e['label']} | {e['prediction']}"
                     f"{' (wrong)' if e['label'] != e['prediction'] else ''} |" for e in index)
    wrong = sum(e["label"] != e["prediction"] for e in index)
    pairs = write_pairs(args.out, images, labels, args.pairs)
    pair_rows = "\n".join("| {} | {} | {} and {} |".format(e["file"], e["test_pair"], *e["labels"]) for e in pairs)
    (args.out / "README.md").write_text(README.format(count=len(index), wrong=wrong, rows=rows,
                                                      pair_count=len(pairs), pair_rows=pair_rows))
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"wrote {len(index)} examples ({wrong} wrong) to {args.out}, {size / 1024:.1f} KB in all")


if __name__ == "__main__":
    main()
