"""Digit Studio's engine: everything that is not Qt.

Datasets, the model zoo, training, preprocessing of drawings, inference and checkpoints.
This package must never import Qt (a test enforces it), so it can be used from scripts,
the command line and the GUI alike. Import the submodules you need, e.g.
``from engine.predict import Predictor``.
"""

__version__ = "0.1.0"
