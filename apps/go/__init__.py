"""filterkit go app: move prediction with a convolutional policy network, played over GTP.

Modules, one job each:

* :mod:`.coords`   - point indices, GTP and SGF coordinates (row order stated once)
* :mod:`.board`    - rules engine: groups/liberties, captures, suicide, ko/superko, area scoring
* :mod:`.records`  - SGF games via sgfmill; files, folders, archives, the KGS manifest splits
* :mod:`.features` - packed 1-byte-per-point positions -> input planes; the 8 symmetries
* :mod:`.dataset`  - positions converted once into memory-mapped arrays; batch loaders
* :mod:`.model`    - :class:`~.model.PolicyNet` (AlphaGo SL policy layout) and symmetry averaging
* :mod:`.pipeline` - prepare / train (shared :mod:`filterkit.nn.train` engine) / evaluate + baselines
* :mod:`.stats`    - Wilson and game-bootstrap intervals
* :mod:`.engine`   - the network as a player, and its GTP command handlers
* :mod:`.gtp`      - GTP v2 server loop and client (protocol only)
* :mod:`.match`    - games against any GTP engine, scored and saved as SGF
* :mod:`.cli`      - ``filterkit go prepare|train|eval|gtp|match``
"""
