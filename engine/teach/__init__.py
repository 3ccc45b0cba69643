"""Teaching mode, Qt-free: the pictures of a deep-learning course computed on the student's own
model and data. boundary.py: decision regions of a model with a 2-number input over the input
plane (live while training, through BoundaryWatcher); plane_data.py: the points and the model
as the document holds them; probe.py: the tensor on any wire and its statistics; explain.py:
the arithmetic of one convolution / pooling output pixel and of a softmax; units.py: each
hidden unit's value over the input plane (UnitWatcher while training); dense.py: small chains
of Linear layers as units and weights, and one weight edited."""
from __future__ import annotations

from .boundary import BoundaryWatcher, Plane, Regions, decision_regions, plane_for, two_d_input
from .plane_data import PlaneData, load_plane_data, project_regions

__all__ = ["BoundaryWatcher", "Plane", "PlaneData", "Regions", "decision_regions",
           "load_plane_data", "plane_for", "project_regions", "two_d_input"]
