"""The commands, one module each (`mspgsen.api` gathers their Python functions, `mspgsen.cli`
their command lines): train, sample, evaluate, diagnose, reconstruct, experiments (ablate and
sweep), catalogue (list, classifier train)."""
