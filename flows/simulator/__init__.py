"""The simulated operator: network usage, billing, top-ups and reference data with labelled
faults (`revguard simulate`), so that detection is measured against ground truth."""
from flows.simulator.simulation import simulate
from flows.simulator.summary import SimulationSummary

__all__ = ["SimulationSummary", "simulate"]
