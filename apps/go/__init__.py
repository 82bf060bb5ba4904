"""filterkit go app: move prediction with a convolutional policy network, played over GTP.

Modules, one job each (the shape every app shares first, then the go extras):

* :mod:`.config`   - :class:`~.config.GoConfig`, every choice of a run (saved in checkpoints as a dict)
* :mod:`.data`     - ``prepare``: games converted once into memory-mapped arrays; batch loaders
* :mod:`.model`    - :class:`~.model.PolicyNet` (AlphaGo SL policy layout), symmetry averaging, ``build``, ``load``
* :mod:`.train`    - ``train``: the shared :mod:`filterkit.nn.train` engine, a run folder per run
* :mod:`.evaluate` - ``evaluate`` (top-1/top-5/NLL with game-bootstrap intervals) and ``baselines``
* :mod:`.cli`      - ``filterkit go prepare|train|eval|gtp|match``
* :mod:`.coords`   - point indices, GTP and SGF coordinates (row order stated once)
* :mod:`.board`    - rules engine: groups/liberties, captures, suicide, ko/superko, area scoring
* :mod:`.records`  - SGF games via sgfmill (the ``go`` extra); files, folders, archives, the KGS manifest
* :mod:`.features` - packed 1-byte-per-point positions -> input planes; the 8 symmetries
* :mod:`.tactics`  - ataris and ladders read on the board
* :mod:`.engine`   - the network as a player, and its GTP command handlers
* :mod:`.gtp`      - GTP v2 server loop and client (protocol only; timeouts and size caps)
* :mod:`.match`    - games against any GTP engine, scored and saved as SGF
* :mod:`.stats`    - Wilson and game-bootstrap intervals
"""
