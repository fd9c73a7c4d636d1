"""The environment a result was measured in: device, driver, CUDA, torch, Triton, date."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _driver_version() -> str | None:
    """NVIDIA driver version: NVML if importable, else nvidia-smi, else None."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # noqa: BLE001 - any NVML failure just means "ask nvidia-smi"
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True)
        return out.stdout.strip().splitlines()[0] or None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def capture_environment(device: str) -> dict:
    """What `deckforge.bench/1` records under `environment`. Imports torch (bench only)."""
    import torch

    env: dict = {
        "device": platform.processor() or platform.machine() or "cpu",
        "driver": None,
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
        "triton": _version("triton"),
        "date": _dt.datetime.now(_dt.UTC).date().isoformat(),
        "python": platform.python_version(),
        "backend": "cpu",
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(device)
        env.update({
            "device": torch.cuda.get_device_name(device),
            "driver": _driver_version(),
            "backend": "cuda",
            "cudnn": torch.backends.cudnn.version(),
            "sm_count": props.multi_processor_count,
            "memory_gib": round(props.total_memory / 2**30, 1),
            "l2_mib": round(getattr(props, "L2_cache_size", 0) / 2**20, 1) or None,
            "capability": f"{props.major}.{props.minor}",
        })
    else:
        env["device"] = f"CPU ({env['device']}, {torch.get_num_threads()} threads)"
    return env
