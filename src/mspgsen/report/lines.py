"""The one-line summaries the command prints: a run's final metrics, a model's defaults."""
from __future__ import annotations


def defaults_line(defaults: dict) -> str:
    extras = {k: v for k, v in defaults.items() if k not in ("name", "optim_g", "optim_d")}
    if extras.get("latent_dim") is None:
        extras["latent_dim"] = "100 on images, 8 on points"
    return (f"G {_optimizer_text(defaults['optim_g'])}, D {_optimizer_text(defaults['optim_d'])}, "
            + ", ".join(f"{k}={v}" for k, v in extras.items()))


def _optimizer_text(optimizer: dict) -> str:
    betas = f", betas={tuple(optimizer['betas'])}" if optimizer["name"] != "rmsprop" else ""
    return f"{optimizer['name']}(lr={optimizer['lr']:g}{betas})"


def metrics_line(metrics: dict) -> str:
    """The one line a run ends with: 2-D coverage, Stacked MNIST's modes, image metrics, or why none."""
    if "modes_covered" in metrics:
        return coverage_line(metrics)
    if "note" in metrics:
        return metrics["note"]
    shown = {k: v for k, v in metrics.items() if isinstance(v, float) or k == "stacked_modes"}
    parts = [f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}" for name, value in shown.items()]
    return f"{', '.join(parts)} ({metrics.get('samples')} samples, {metrics.get('features')} features)"


def coverage_line(metrics: dict) -> str:
    from mspgsen.metrics import ModeCoverage

    fields = {k: metrics[k] for k in ("modes_covered", "num_modes", "high_quality", "kl", "num_samples")}
    return ModeCoverage(**fields).line()
