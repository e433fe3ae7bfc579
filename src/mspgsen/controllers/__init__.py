"""Training controllers, registered by name (APFL, the DQN balancer and others arrive here)."""
from mspgsen.controllers.base import CONTROLLERS, Controller, build_controllers, register_controller
from mspgsen.controllers import schedules  # noqa: F401  (registration)

__all__ = ["CONTROLLERS", "Controller", "build_controllers", "register_controller"]
