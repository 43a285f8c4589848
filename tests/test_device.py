import pytest
import torch

from capsnet import device as devices


@pytest.mark.parametrize("hardware_bf16, picked", [(True, "bf16"), (False, "fp32")])
def test_auto_precision_uses_bf16_only_where_the_hardware_has_it(monkeypatch, hardware_bf16, picked):
    monkeypatch.setattr(devices, "native_bf16", lambda device: hardware_bf16)
    assert devices.pick_precision("auto", torch.device("cpu")) == picked


def test_asked_for_precision_is_kept(monkeypatch):
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert devices.pick_precision("bf16", torch.device("cpu")) == "bf16"


def test_auto_device_is_the_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.pick_device("auto") == torch.device("cpu")


def test_absent_device_is_refused_with_what_to_use(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(devices.DeviceError, match="no such device on this machine; use --device auto or cpu"):
        devices.pick_device("cuda")
