"""Training controllers, registered by name (schedules, APFL, the DQN balancer, DynGAN's partitioner)."""
from mspgsen.controllers.base import CONTROLLERS, build_controllers, register_controller
from mspgsen.controllers import apfl, balance, partition, schedules  # noqa: F401,E402  (registers them)

__all__ = ["CONTROLLERS", "build_controllers", "register_controller"]
