"""Training controllers, registered by name (APFL, the DQN balancer and others arrive here)."""
from mspgsen.controllers.base import CONTROLLERS, Controller, build_controllers, register_controller
from mspgsen.controllers import apfl, balance, partition, schedules  # noqa: F401,E402  (registers them)

__all__ = ["CONTROLLERS", "Controller", "build_controllers", "register_controller"]
