"""Benchmark of the text app (Kim 2014 CNN) on MR, SUBJ, TREC, SST-2 (and SST-1) against TF-IDF + LR.

For each data set, in the same run and on the same folds/splits:

* TF-IDF (word 1-2 grams, sublinear tf) + logistic regression, C chosen on
  the dev set (10% of each training fold, or the given dev set) from 0.1..100;
* the CNN with pretrained GloVe-50d vectors (``--variant``, default the app's default), mixed with
  the NB-weighted n-gram model as ``filterkit text train`` does by default (``--ngrams``); the same
  runs also give the CNN alone and the n-gram model alone;
* CNN-rand on MR and TREC (the paper reports them: 76.1, 91.2), set up as Kim's: 300-d random
  vectors (``--rand-dim``) and, for TREC, case kept as in his cleaning (``--rand-keep-case``); TREC's
  CNN-rand uses the plain word tokeniser (``--rand-words``), the setting with the best dev accuracy
  of six compared (apps/text/README.md).

MR and SUBJ use stratified 10-fold CV (``--folds``); SST and TREC their test
split, trained with ``--seeds`` seeds (mean and std).  Printed: accuracy, the target, the paper's CNN figure, the TF-IDF
figure, wall time, median training and prediction sentences per second.

Usage::

    python benchmarks/text.py --json bench_text.json            # full run (about 25 min on 2 cores)
    python benchmarks/text.py --datasets TREC --folds 2 --epochs 3   # quick check
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

TARGETS = {"MR": 80.0, "SUBJ": 92.0, "TREC": 92.0, "SST-2": 84.0, "SST-1": None}
PAPER = {  # Kim (2014) Table 2: CNN-rand, CNN-non-static, CNN-multichannel
    "MR": {"rand": 76.1, "non-static": 81.5, "multichannel": 81.1, "static": 81.0},
    "SUBJ": {"rand": 89.6, "non-static": 93.4, "multichannel": 93.2, "static": 93.0},
    "TREC": {"rand": 91.2, "non-static": 93.6, "multichannel": 92.2, "static": 92.8},
    "SST-2": {"rand": 83.7, "non-static": 87.2, "multichannel": 88.1, "static": 86.8},
    "SST-1": {"rand": 45.0, "non-static": 48.0, "multichannel": 47.4, "static": 45.5},
}
TFIDF_MEASURED_BY_TEAM = {"MR": 77.5, "SST-2": 81.3, "TREC": 89.6}


def tfidf_accuracy(train, dev, test, seed: int) -> float:
    """TF-IDF 1-2 grams + logistic regression; C picked on ``dev``; accuracy on ``test``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from filterkit.apps.text.tokenize import kim_tokenize

    vectorizer = TfidfVectorizer(tokenizer=kim_tokenize, lowercase=False, token_pattern=None,
                                 ngram_range=(1, 2), sublinear_tf=True)
    x_train = vectorizer.fit_transform(train.texts)
    best = None
    for c in (0.1, 1.0, 10.0, 100.0):
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x_train, train.labels)
        score = model.score(vectorizer.transform(dev.texts), dev.labels)
        if best is None or score > best[0]:
            best = (score, model)
    return float(best[1].score(vectorizer.transform(test.texts), test.labels))


def run_tfidf(corpus, folds: int, seed: int) -> float:
    from filterkit.apps.text.cv import fold_indices
    from filterkit.apps.text.train import split_dev

    if corpus.has_test:
        train = corpus.parts["train"]
        dev = corpus.parts.get("dev")
        if dev is None:
            train, dev = split_dev(train, 0.1, seed)
        return tfidf_accuracy(train, dev, corpus.parts["test"], seed)
    data = corpus.parts["all"]
    scores = []
    for fold, (tr, te) in enumerate(fold_indices(data.labels, folds, seed), 1):
        train, dev = split_dev(data.subset(tr), 0.1, seed + fold)
        scores.append(tfidf_accuracy(train, dev, data.subset(te), seed))
    return float(sum(scores) / len(scores))


def run_cnn(corpus, variant: str, folds: int, seed: int, jobs: int | None, epochs: int | None,
            seeds: int = 3, **options) -> dict:
    """CV folds (MR, SUBJ) or ``seeds`` runs on the given split (TREC, SST); accuracy as mean and std in %.

    ``options``: TextConfig fields (e.g. ``dim``, ``lowercase``).
    """
    from filterkit.apps.text.cv import cross_validate, fixed_split
    from filterkit.apps.text.config import TextConfig

    cfg = TextConfig(variant=variant, **options)
    if epochs is not None:
        cfg.epochs = epochs
    start = time.perf_counter()
    if corpus.has_test:
        runs = [fixed_split(cfg, corpus, seed=seed + k, device="cpu", progress=False)[1] for k in range(seeds)]
        scores = [r["test_accuracy"] for r in runs]
        accuracy = statistics.mean(scores)
        spread = statistics.stdev(scores) if len(scores) > 1 else None
    else:
        report = cross_validate(cfg, corpus, folds, seed=seed, jobs=jobs, device="cpu", progress=True)
        runs = report["folds"]
        accuracy, spread = report["mean"], report["std"]
    key = "cnn_test_accuracy" if corpus.has_test else "cnn_accuracy"
    mixed = all(key in r for r in runs)
    return {
        "accuracy": 100 * accuracy,
        "std": None if spread is None else 100 * spread,
        # with the n-gram model mixed in (cfg.ngrams > 0): the CNN alone and the n-gram model alone, same runs
        "cnn_accuracy": 100 * statistics.mean(r[key] for r in runs) if mixed else 100 * accuracy,
        "ngram_accuracy": 100 * statistics.mean(r[key.replace("cnn", "ngram")] for r in runs) if mixed else None,
        "mix_median": statistics.median(r["mix"] for r in runs) if mixed else None,
        "dev_accuracy": 100 * statistics.median(r["dev_accuracy"] for r in runs),
        "epochs_median": statistics.median(r["epochs"] for r in runs),
        "seconds": time.perf_counter() - start,
        "train_sentences_per_second_median": statistics.median(r["train_sentences_per_second"] for r in runs),
        "predict_sentences_per_second_median": statistics.median(r["predict_sentences_per_second"] for r in runs),
        "runs": runs,
        "config": cfg.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="TREC,SST-2,MR,SUBJ", help="comma-separated benchmark names")
    parser.add_argument("--variant", default=None, help="pretrained variant (default: the app's default)")
    parser.add_argument("--rand-on", default="MR,TREC", help="data sets that also run CNN-rand ('' for none)")
    parser.add_argument("--rand-dim", type=int, default=300, help="CNN-rand vector size (default 300, Kim's)")
    parser.add_argument("--rand-words", default="TREC",
                        help="data sets whose CNN-rand uses the plain word tokeniser instead of Kim's cleaning "
                             "(default TREC: the best dev accuracy of six settings; '' for none)")
    parser.add_argument("--rand-keep-case", default="TREC",
                        help="data sets whose CNN-rand keeps case (default TREC: Kim's cleaning for TREC does not "
                             "lower-case; '' for none)")
    parser.add_argument("--ngrams", type=int, default=None,
                        help="n-gram model mixed with the pretrained variant (default: the app's, 3; 0: the CNN "
                             "alone); CNN-rand rows are always the CNN alone, as in the paper")
    parser.add_argument("--folds", type=int, default=10, help="CV folds for MR and SUBJ")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the data sets with a test split")
    parser.add_argument("--jobs", type=int, default=None, help="parallel fold processes (default: CPU count)")
    parser.add_argument("--epochs", type=int, default=None, help="override the maximum epochs (quick checks)")
    parser.add_argument("--data-root", default=None, help="benchmark data folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--json", metavar="PATH", help="write all figures as JSON")
    args = parser.parse_args(argv)

    from filterkit.apps.text.data import find_data_root, load_data
    from filterkit.apps.text.config import TextConfig
    from filterkit.io import write_report

    if find_data_root(args.data_root) is None:
        print("no benchmark data (set --data-root or FILTERKIT_DATA)", file=sys.stderr)
        return 2
    variant = args.variant or TextConfig().variant
    rand_on = {d for d in args.rand_on.split(",") if d}
    keep_case = {d for d in args.rand_keep_case.split(",") if d}
    words = {d for d in args.rand_words.split(",") if d}
    rows, results = [], {}
    for name in [d for d in args.datasets.split(",") if d]:
        corpus = load_data(name, args.data_root)
        protocol = "test split" if corpus.has_test else f"{args.folds}-fold CV"
        t0 = time.perf_counter()
        tfidf = 100 * run_tfidf(corpus, args.folds, args.seed)
        tfidf_seconds = time.perf_counter() - t0
        entry = {"protocol": protocol, "tfidf_lr": tfidf, "tfidf_seconds": tfidf_seconds, "cnn": {}}
        for v in [variant] + (["rand"] if name in rand_on and variant != "rand" else []):
            options = {"ngrams": args.ngrams} if args.ngrams is not None else {}
            if v == "rand":  # Kim's CNN-rand, the CNN alone
                options = {"dim": args.rand_dim, "lowercase": name not in keep_case, "ngrams": 0,
                           "tokenizer": "words" if name in words else "kim"}
            res = run_cnn(corpus, v, args.folds, args.seed, args.jobs, args.epochs, args.seeds, **options)
            entry["cnn"][v] = res
            target = TARGETS.get(name) if v != "rand" else PAPER[name]["rand"]
            label = v if res["ngram_accuracy"] is None else f"{v}+ngrams"
            rows.append((name, label, protocol, res["accuracy"], res["std"], res["cnn_accuracy"], target,
                         PAPER[name][v], tfidf, res["accuracy"] - tfidf, res["seconds"],
                         res["train_sentences_per_second_median"], res["predict_sentences_per_second_median"]))
            print(f"  {name} {v}: {res['accuracy']:.2f} ({res['seconds']:.0f} s)", flush=True)
        results[name] = entry
        if args.json:  # after every data set, so an interrupted run keeps what it measured
            write_report(args.json, _report(args, variant, results))

    header = ("data", "model", "protocol", "acc %", "std", "CNN alone", "target", "paper", "tfidf+LR",
              "acc-tfidf", "wall s", "train sent/s", "pred sent/s")
    print()
    print("  ".join(f"{h:>12}" for h in header))
    for r in rows:
        cells = [r[0], r[1], r[2], f"{r[3]:.2f}", "-" if r[4] is None else f"{r[4]:.2f}", f"{r[5]:.2f}",
                 "-" if r[6] is None else f"{r[6]:.1f}", f"{r[7]:.1f}", f"{r[8]:.2f}", f"{r[9]:+.2f}",
                 f"{r[10]:.0f}", f"{r[11]:.0f}", f"{r[12]:.0f}"]
        print("  ".join(f"{c:>12}" for c in cells))
    print("+ngrams: the CNN mixed with the NB-weighted n-gram model (--ngrams); 'CNN alone' is the same runs' CNN "
          "without it; target for CNN-rand rows = the paper's CNN-rand figure; acc-tfidf = accuracy difference in "
          "points, same folds/split")
    return 0


def _report(args, variant: str, results: dict) -> dict:
    return {"seed": args.seed, "seeds": args.seeds, "folds": args.folds, "variant": variant, "epochs": args.epochs,
            "ngrams": args.ngrams, "rand_dim": args.rand_dim, "rand_keep_case": args.rand_keep_case,
            "rand_words": args.rand_words,
            "cpu_count": os.cpu_count(), "targets": TARGETS, "paper": PAPER,
            "tfidf_measured_by_team": TFIDF_MEASURED_BY_TEAM, "results": results}


if __name__ == "__main__":
    sys.exit(main())
