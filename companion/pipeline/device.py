"""Where tensors live: one place chooses the device for the whole companion."""

import os

import torch


def resolve_device(device="auto"):
    """Return a ``torch.device``: ``"auto"`` means ``$COMPANION_DEVICE`` if set, else CUDA when available, else CPU."""
    if device is None or device == "auto":
        device = os.environ.get("COMPANION_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: cannot interpret {device!r} as a torch device") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available on this machine")
    return resolved
