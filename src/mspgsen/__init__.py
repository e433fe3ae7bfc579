"""mspgsen: train, evaluate and compare stable, mode-covering GANs under one protocol."""
__version__ = "0.1.0"
