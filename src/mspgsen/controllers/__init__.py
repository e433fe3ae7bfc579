"""Training controllers, registered by name (schedules, APFL, the DQN balancer, DynGAN's partitioner).
Importing this package imports every module in it and the `mspgsen.controllers` entry points of
installed plug-ins, each registering its controllers."""
from mspgsen.controllers.base import CONTROLLERS, build_controllers, register_controller
from mspgsen.registry import import_package, import_plugins

import_package(__name__, __path__)
import_plugins("mspgsen.controllers")

__all__ = ["CONTROLLERS", "build_controllers", "register_controller"]
