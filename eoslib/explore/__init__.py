"""Every schedule: run a scenario under every placement of up to K faults (lost requests and
responses of every API, application crashes at every step, the transaction coordinator or
the partition leader dying) and report, per anomaly, how many schedules show it and the
smallest one, with the ``eoslib run`` arguments that replay it."""

from eoslib.explore.attack import Attack, attack, attack_with
from eoslib.explore.engine import Exploration, Run, explore
from eoslib.explore.points import KINDS, Point

__all__ = ["KINDS", "Attack", "Exploration", "Point", "Run", "attack", "attack_with", "explore"]
