"""The Python API: every command as a function. The CLI is a thin layer over it; each function lives
in its command's module under mspgsen.commands.

>>> from mspgsen import api
>>> config = api.configure(model="wgan-gp", data="grid25", steps=2000)
>>> result = api.train(config)
>>> result.metrics["modes_covered"]
"""
from mspgsen.commands.catalogue import datasets, models, train_classifier
from mspgsen.commands.diagnose import diagnose
from mspgsen.commands.evaluate import evaluate
from mspgsen.commands.experiments import ablate, sweep
from mspgsen.commands.reconstruct import interpolation_grid, reconstruct
from mspgsen.commands.repair import repair
from mspgsen.commands.report import report
from mspgsen.commands.sample import sample
from mspgsen.commands.train import FLAG_KEYS, RESUMABLE_KEYS, TrainResult, configure, train

__all__ = ["FLAG_KEYS", "RESUMABLE_KEYS", "TrainResult", "ablate", "configure", "datasets", "diagnose", "evaluate",
           "interpolation_grid", "models", "reconstruct", "repair", "report", "sample", "sweep", "train", "train_classifier"]
