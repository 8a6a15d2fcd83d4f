"""Persistent timers for every feature: flow timers, deferred pushes, reminders."""

from bot.scheduling.interface import Scheduler
from bot.scheduling.lease import LocalLease, RedisLease

__all__ = ["LocalLease", "RedisLease", "Scheduler"]
