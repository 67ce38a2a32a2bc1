"""Load: battles from the formats they are published in, the public copy fetched, text helpers."""

from prefeat.data.battles import BattleDataError, load_battles, swap_battles

__all__ = ["BattleDataError", "load_battles", "swap_battles"]
