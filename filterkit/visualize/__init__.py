"""What did the CNN learn?  Kernels, feature maps, activation maximisation, saliency, Deep Dream, style transfer.

One module per technique; every function works on a :class:`VisModel`
(:func:`load_model`: a checkpoint or ``zoo:NAME``) and pixel images in [0, 1].
The command line is ``filterkit visualize`` (see ``docs/visualize.md``).
"""

from filterkit.visualize.common import OUTPUT, VisModel, layer_names, load_image, load_model

__all__ = ["OUTPUT", "VisModel", "layer_names", "load_image", "load_model"]
