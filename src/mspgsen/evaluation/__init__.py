"""Evaluation in one package: an evaluator per kind of data (points.py: 2-D mode metrics; images.py:
FID / IS / KID / precision-recall and Stacked MNIST modes on a chosen extractor's features) and the
registry of what each metric means and which direction is better (registry.py)."""
from mspgsen.evaluation.images import (IMAGE_METRICS, ImageEvaluator, StackedModesMetric, load_sample_file,
                                       parse_metrics, to_uint8)
from mspgsen.evaluation.points import PointEvaluator
from mspgsen.evaluation.registry import METRICS, Metric, headline, metric, score

__all__ = ["IMAGE_METRICS", "ImageEvaluator", "METRICS", "Metric", "PointEvaluator", "StackedModesMetric", "headline",
           "load_sample_file", "metric", "parse_metrics", "score", "to_uint8"]
