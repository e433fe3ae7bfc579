"""Evaluation while training: cheap metrics every `train.eval_every` steps, and the best generator kept.

Everything expensive to set up (the feature extractor, the reference features) is done once, before
the first step, so a missing weights file stops the run at once rather than hours in.
"""
from __future__ import annotations

from mspgsen.config import RunConfig
from mspgsen.evaluation import ImageEvaluator, PointEvaluator, parse_metrics, score, to_uint8
from mspgsen.sampling import draw
from mspgsen.support.rundir import RunDir
from mspgsen.training.snapshot import save_snapshot
from mspgsen.training.state import TrainingState

EVAL_SEED = 4321  # the same latents at every evaluation: changes come from the generator alone


class PeriodicEvaluator:
    def __init__(self, config: RunConfig, source, device):
        self.config, self.source, self.device = config, source, device
        self.run: RunDir | None = None  # set once the run folder exists
        self.count = config.train.eval_n
        if source.shape.kind == "points":
            self.evaluate = PointEvaluator(source)
        else:
            images = ImageEvaluator(parse_metrics(config.train.eval_metrics, ("fid",)), config.train.eval_features,
                                    config.data, config.train.eval_ref, source.shape.size, source.shape.channels,
                                    device)
            self.evaluate = lambda samples: images(to_uint8(samples))

    def __call__(self, state: TrainingState) -> dict[str, float]:
        samples = draw(state.family, state.sampling_generator(), self.count, EVAL_SEED, self.device,
                       state.precision)
        results = {k: v for k, v in self.evaluate(samples).items() if k != "num_modes" and k != "num_samples"}
        self._keep_if_best(state, results)
        return results

    def _keep_if_best(self, state: TrainingState, results: dict[str, float]) -> None:
        """The best generator so far by the metric registry's score (evaluation/registry.py)."""
        value = score(results)
        if value is not None and (not state.best or value > state.best["score"]):
            state.best = {**results, "score": value, "step": state.step}
            save_snapshot(state, self.run.best_snapshot, self.config)