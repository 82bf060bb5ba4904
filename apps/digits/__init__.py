"""Fixed vs learned first layers on handwritten digits (MNIST or scikit-learn's digits).

Same shape as every app: ``config`` (:class:`~filterkit.apps.digits.config.DigitsConfig`, stored in
checkpoints), ``data`` (MNIST IDX files, built-in digits, torch batches), ``model`` (the lecture CNN's
three first layers), ``train`` (:func:`~filterkit.apps.digits.train.train`), ``evaluate`` (``load``,
``predict``, ``evaluate``) and ``compare`` (the experiment behind ``filterkit compare``).  Its command
lines live in :mod:`filterkit.cli.compare` and ``filterkit visualize train``.
"""
