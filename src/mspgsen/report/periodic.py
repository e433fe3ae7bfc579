"""Evaluation while training: cheap metrics every `train.eval_every` steps, and the best generator kept.

Everything expensive to set up (the feature extractor, the reference features) is done once, before
the first step, so a missing weights file stops the run at once rather than hours in.
"""
from __future__ import annotations

from typing import Any

from mspgsen.config import RunConfig
from mspgsen.evaluation import ImageEvaluator, parse_metrics, to_uint8
from mspgsen.metrics.modes2d import mode_coverage
from mspgsen.sampling import draw
from mspgsen.training.rundir import RunDir
from mspgsen.training.snapshot import save_snapshot
from mspgsen.training.state import TrainingState

EVAL_SEED = 4321  # the same latents at every evaluation: changes come from the generator alone
LOWER_IS_BETTER = ("fid", "kid")


class PeriodicEvaluator:
    def __init__(self, config: RunConfig, source, device):
        self.config, self.source, self.device = config, source, device
        self.run: RunDir | None = None  # set once the run folder exists
        self.count = config.train.eval_n
        if source.shape.kind == "points":
            return
        self.images = ImageEvaluator(parse_metrics(config.train.eval_metrics, ("fid",)), config.train.eval_features,
                                     config.data, config.train.eval_ref, source.shape.size, source.shape.channels,
                                     device)

    def __call__(self, state: TrainingState) -> dict[str, float]:
        samples = draw(state.family, state.sampling_generator(), self.count, EVAL_SEED, self.device,
                       state.precision)
        if state.shape.kind == "points":
            coverage = mode_coverage(samples, self.source.centers, self.source.std)
            results = {"modes_covered": coverage.modes_covered, "high_quality": coverage.high_quality,
                       "kl": coverage.kl}
        else:
            results = self.images(to_uint8(samples))
        self._keep_if_best(state, results)
        return results

    def _keep_if_best(self, state: TrainingState, results: dict[str, float]) -> None:
        score = headline_score(results)
        if not state.best or score > state.best["score"]:
            state.best = {**results, "score": score, "step": state.step}
            save_snapshot(state, self.run.best_snapshot, self.config)


def headline_score(results: dict[str, Any]) -> float:
    """Higher is better: modes then quality for points; the first metric (negated for FID / KID) for images."""
    if "modes_covered" in results:
        return results["modes_covered"] + results["high_quality"]
    name, value = next(iter(results.items()))
    return -value if name.startswith(LOWER_IS_BETTER) else value
