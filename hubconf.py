"""torch.hub entry points: `torch.hub.load("<owner>/<repo>", "capsnet")`, or `(".", "capsnet", source="local")` in a clone."""

from capsnet import PAIR_CHECKPOINT, CapsNet, CapsNetConfig, load_model

dependencies = ["torch", "numpy", "PIL", "matplotlib"]


def capsnet(pretrained: bool = True, **config) -> CapsNet:
    """The CapsNet of Sabour et al. (2017) for 28x28 MNIST digits.

    pretrained=True: the checkpoint that ships with the repository (99.65% on
    the MNIST test set), in eval mode; checkpoints/capsnet-mnist/README.md says how it was trained.
    pretrained=False: fresh weights, in training mode; keyword arguments set
    CapsNetConfig fields (e.g. routing_iterations=2).
    """
    if not pretrained:
        return CapsNet(CapsNetConfig(**config))
    if config:
        raise ValueError(f"the shipped model has a fixed architecture; {', '.join(config)} only go with pretrained=False")
    return load_model()


def capsnet_multimnist() -> CapsNet:
    """The shipped CapsNet trained on two overlapping digits (the paper's MultiMNIST), in eval mode.

    Its two longest capsules name the two digits of a pair framed by `capsnet.preprocess`;
    results and training: docs/multimnist.md.
    """
    return load_model(PAIR_CHECKPOINT)
