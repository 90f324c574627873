"""Our face-attribute model: age (with spread), gender and 7-class emotion from one aligned face crop.

The runtime only needs :class:`AttributeModel` and :class:`ModelError`; training, calibration and evaluation
live in the sibling modules and are imported by the ``signage train`` / ``signage evaluate`` commands.
"""

from classifier.attributes.model import AttributeModel, ModelError

__all__ = ["AttributeModel", "ModelError"]
