"""What did the CNN learn?  Kernels, feature maps, activation maximisation, saliency, Deep Dream, style transfer.

One module per technique; every function works on a :class:`VisModel`
(:func:`load_model`: a checkpoint or ``zoo:NAME``) and pixel images in [0, 1]:

=============  ==============================================================
module         public API
=============  ==============================================================
``common``     load_model, VisModel (.activations), load_image, layer_names
``kernels``    kernel_table, plot_kernels, plot_kernel_comparison
``features``   feature_maps, feature_stats, plot_feature_maps
``maximize``   Target, maximize (MaximizeConfig), plot_maximized
``saliency``   saliency_maps, input_gradient, smoothgrad, integrated_gradients
``dream``      deep_dream (DreamConfig)
``style``      synthesize (StyleConfig), RandomFilterFeatures, ModelFeatures, gram_matrix
=============  ==============================================================

The command line is ``filterkit visualize`` (see ``docs/visualize.md``); a digits checkpoint to look
at comes from :func:`filterkit.apps.digits.train.train`.
Names are imported lazily, so ``import filterkit.visualize.config`` stays free of torch.
The function ``maximize`` shares its module's name: import it as
``from filterkit.visualize.maximize import maximize``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "OUTPUT": "common", "VisModel": "common", "layer_names": "common", "load_image": "common",
    "load_model": "common", "kernel_table": "kernels", "plot_kernels": "kernels", "feature_maps": "features",
    "Target": "maximize", "MaximizeConfig": "config", "saliency_maps": "saliency",
    "deep_dream": "dream", "DreamConfig": "config", "synthesize": "style", "StyleConfig": "config",
    "RandomFilterFeatures": "style", "ModelFeatures": "style", "gram_matrix": "style",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"filterkit.visualize.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'filterkit.visualize' has no attribute {name!r}")
