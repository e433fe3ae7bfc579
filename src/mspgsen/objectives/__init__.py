"""Losses and regularisers; each returns an unweighted term, weighted by the loop's knobs."""
from mspgsen.objectives.adversarial import (AdversarialLoss, Hinge, NonSaturating, Wasserstein, feature_matching,
                                            layered_feature_matching)
from mspgsen.objectives.penalties import clip_weights, eager, gradient_penalty, r1_of_scores, r1_penalty

__all__ = ["AdversarialLoss", "Hinge", "NonSaturating", "Wasserstein", "clip_weights", "eager", "feature_matching",
           "gradient_penalty", "layered_feature_matching", "r1_of_scores", "r1_penalty"]
