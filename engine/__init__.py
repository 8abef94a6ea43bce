"""Digit Studio's engine: everything that is not Qt.

Datasets (MNIST-style and the pen digits, downloaded with checksums), the model zoo, training and its
comparisons, cross-validation and search, preprocessing of drawings, inference, explanations,
calibration, personalisation and checkpoints.
This package must never import Qt (a test enforces it), so it can be used from scripts,
the command line and the GUI alike. Import the submodules you need, e.g.
``from engine.predict import Predictor``.
"""

__version__ = "0.1.0"
