"""Labelled sentence readers: label-text lines, CSV/TSV, JSONL, .pos/.neg pairs, class folders, benchmarks.

Every reader splits files on ``b"\\n"`` *before* decoding: several benchmark files
are cp1252 and contain 0x85 (U+0085, NEL after decoding), which
``str.splitlines()`` would wrongly treat as a line break.  Empty lines are
skipped.  A file that does not decode raises a :class:`UserError` naming the
file, the line and the ``--encoding`` option to use.

A :class:`Corpus` holds named parts (``train``, ``dev``, ``test``; or ``all``
when the data set has no fixed split) and the class names.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from filterkit.errors import UserError

__all__ = [
    "BENCHMARKS",
    "Corpus",
    "TextData",
    "find_data_root",
    "load_benchmark",
    "load_data",
    "read_class_folder",
    "read_delimited",
    "read_jsonl",
    "read_label_text",
    "read_lines",
    "read_pos_neg",
]


@dataclass
class TextData:
    """Sentences with integer labels (indices into the corpus' class names)."""

    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "TextData":
        return TextData([self.texts[i] for i in indices], [self.labels[i] for i in indices])


@dataclass
class Corpus:
    """A data set: ``parts`` maps ``train``/``dev``/``test`` (or ``all``) to :class:`TextData`."""

    name: str
    classes: list[str]
    parts: dict[str, TextData] = field(default_factory=dict)
    default_cv: int = 10  # folds used when there is no fixed test split

    @property
    def has_test(self) -> bool:
        return "test" in self.parts

    def all_texts(self) -> list[str]:
        return [t for part in self.parts.values() for t in part.texts]


# ---------------------------------------------------------------- line reading
def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Non-empty lines of ``path`` split on ``b"\\n"`` before decoding (``\\r`` stripped)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    lines = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        lines.append(_decode(chunk, path, number, encoding).rstrip("\r"))
    return [line for line in lines if line.strip()]


def _decode(chunk: bytes, path: Path, line: int, encoding: str) -> str:
    try:
        return chunk.decode(encoding)
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r} (try utf-8, cp1252 or latin-1)") from None
    except UnicodeDecodeError as exc:
        byte = chunk[exc.start : exc.start + 1].hex()
        hint = "--encoding cp1252" if encoding.lower().replace("-", "") in ("utf8", "ascii") else "--encoding latin-1"
        raise UserError(
            f"{path}: line {line} is not valid {encoding} (byte 0x{byte} at column {exc.start + 1}); "
            f"pass the file's encoding, e.g. {hint}"
        ) from None


def _read_text(path: Path, encoding: str) -> str:
    """Whole file decoded (for CSV/JSON parsers); same error messages as :func:`read_lines`."""
    return "\n".join(read_lines(path, encoding))


# ---------------------------------------------------------------- label helpers
def _sorted_classes(names) -> list[str]:
    names = set(names)
    try:
        return [str(n) for n in sorted(names, key=lambda s: (float(s), s))]
    except ValueError:
        return sorted(names)


def _make(texts: list[str], raw_labels: list[str], source: str, classes: list[str] | None = None):
    """Turn raw string labels into indices; one class only is a user error."""
    if not texts:
        raise UserError(f"{source}: no examples (the file is empty or every line is blank)")
    if classes is None:
        classes = _sorted_classes(raw_labels)
        if len(classes) < 2:
            raise UserError(
                f"{source}: every example has the label {classes[0]!r}; a classifier needs at least 2 classes"
            )
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = sorted({label for label in raw_labels if label not in lookup})
    if unknown:
        raise UserError(f"{source}: labels {unknown[:5]} are not among the classes {classes}")
    return TextData(list(texts), [lookup[label] for label in raw_labels]), classes


# ---------------------------------------------------------------- readers
def read_label_text(path: str | os.PathLike, encoding: str = "utf-8") -> tuple[list[str], list[str]]:
    """``label text`` lines (label = first whitespace-separated field) -> (texts, labels)."""
    texts, labels = [], []
    for number, line in enumerate(read_lines(path, encoding), start=1):
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            raise UserError(f"{path}: example {number} ({line.strip()[:40]!r}) has a label but no text; "
                            "expected 'label text' lines")
        labels.append(parts[0])
        texts.append(parts[1])
    return texts, labels


def _column(header: list[str] | None, spec: str, path, role: str) -> int:
    if header is not None and spec in header:
        return header.index(spec)
    if spec.lstrip("-").isdigit():
        return int(spec)
    names = f"; columns are {header}" if header else ""
    raise UserError(f"{path}: no {role} column {spec!r}{names} (choose one with --{role}-column NAME or INDEX)")


def read_delimited(
    path: str | os.PathLike,
    text_column: str = "text",
    label_column: str = "label",
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> tuple[list[str], list[str]]:
    """CSV/TSV with a header row; columns chosen by name or 0-based index. Delimiter from the suffix."""
    path = Path(path)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    rows = list(csv.reader(io.StringIO(_read_text(path, encoding)), delimiter=delimiter))
    if not rows:
        raise UserError(f"{path}: no rows")
    first = [c.strip() for c in rows[0]]
    has_header = not (text_column.isdigit() and label_column.isdigit())
    header = first if has_header else None
    t_col = _column(header, text_column, path, "text")
    l_col = _column(header, label_column, path, "label")
    body = rows[1:] if has_header else rows
    texts, labels = [], []
    for number, row in enumerate(body, start=2 if has_header else 1):
        if not any(c.strip() for c in row):
            continue
        if max(t_col, l_col) >= len(row):
            raise UserError(f"{path}: row {number} has {len(row)} fields, the label or text column is missing")
        if not row[t_col].strip():
            continue  # empty text: nothing to classify
        texts.append(row[t_col])
        labels.append(row[l_col].strip())
    return texts, labels


def read_jsonl(
    path: str | os.PathLike, text_column: str = "text", label_column: str = "label", encoding: str = "utf-8"
) -> tuple[list[str], list[str]]:
    """One JSON object per line with text and label keys."""
    texts, labels = [], []
    for number, line in enumerate(read_lines(path, encoding), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: record {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}: record {number} is not a JSON object")
        for key, role in ((text_column, "text"), (label_column, "label")):
            if key not in record:
                raise UserError(f"{path}: record {number} has no {key!r} key (keys: {sorted(record)}); "
                                f"choose one with --{role}-column")
        if not str(record[text_column]).strip():
            continue
        texts.append(str(record[text_column]))
        labels.append(str(record[label_column]))
    return texts, labels


def read_pos_neg(path: str | os.PathLike, encoding: str = "utf-8") -> tuple[list[str], list[str]]:
    """A ``NAME.pos`` / ``NAME.neg`` pair given either file; labels ``neg``/``pos``."""
    path = Path(path)
    stem = path.with_suffix("")
    texts, labels = [], []
    for label in ("neg", "pos"):
        part = stem.with_suffix(f".{label}")
        if not part.exists():
            raise UserError(f"{part}: missing; a .pos file needs its .neg partner (and the reverse)")
        lines = read_lines(part, encoding)
        texts += lines
        labels += [label] * len(lines)
    return texts, labels


def read_class_folder(folder: str | os.PathLike, encoding: str = "utf-8") -> tuple[list[str], list[str]]:
    """A folder with one file per class; the file name without suffix is the class, each line an example."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UserError(f"{folder}: empty folder; expected one text file per class")
    texts, labels = [], []
    for file in files:
        lines = read_lines(file, encoding)
        texts += lines
        labels += [file.stem] * len(lines)
    return texts, labels


# ---------------------------------------------------------------- benchmarks
@dataclass(frozen=True)
class Benchmark:
    """Where a Kim (2014) benchmark lives under the data root and how to read it."""

    folder: str
    classes: tuple[str, ...]
    encoding: str
    files: dict  # part -> file name ("label text" lines)
    lowercase: bool = True


BENCHMARKS: dict[str, Benchmark] = {
    "MR": Benchmark("MR", ("negative", "positive"), "cp1252", {"all": "rt-polarity.all"}),
    "SUBJ": Benchmark("SUBJ", ("subjective", "objective"), "cp1252", {"all": "subj.all"}),
    "SST-1": Benchmark(
        "SST-1",
        ("very negative", "negative", "neutral", "positive", "very positive"),
        "utf-8",
        {"train": "stsa.fine.train", "dev": "stsa.fine.dev", "test": "stsa.fine.test"},
    ),
    "SST-2": Benchmark(
        "SST-2",
        ("negative", "positive"),
        "utf-8",
        {"train": "stsa.binary.train", "dev": "stsa.binary.dev", "test": "stsa.binary.test"},
    ),
    "TREC": Benchmark(
        "TREC",
        ("DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"),
        "latin-1",
        {"train": "TREC.train.all", "test": "TREC.test.all"},
    ),
}


def find_data_root(explicit: str | None = None) -> Path | None:
    """``--data-root``, else ``$FILTERKIT_DATA``, else ``../shared/data/text`` next to the repository."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("FILTERKIT_DATA")
    if env:
        env_path = Path(env)
        return env_path / "text" if (env_path / "text").is_dir() else env_path
    repo = Path(__file__).resolve().parents[2]
    for candidate in (repo.parent / "shared" / "data" / "text", Path.cwd().parent / "shared" / "data" / "text"):
        if candidate.is_dir():
            return candidate
    return None


def load_benchmark(name: str, root: str | os.PathLike) -> Corpus:
    """One of :data:`BENCHMARKS` from ``root`` with its own encoding and fixed split (if any)."""
    spec = BENCHMARKS[name]
    folder = Path(root) / spec.folder
    if not folder.is_dir():
        raise UserError(f"{folder}: benchmark {name} not found under the data root {root} "
                        "(set --data-root or FILTERKIT_DATA)")
    classes = [str(i) for i in range(len(spec.classes))]
    parts = {}
    for part, file_name in spec.files.items():
        texts, labels = read_label_text(folder / file_name, spec.encoding)
        parts[part], _ = _make(texts, labels, str(folder / file_name), classes)
    return Corpus(name, list(spec.classes), parts, default_cv=10)


def _benchmark_name(data: str) -> str | None:
    key = data.rstrip("/").upper()
    return next((name for name in BENCHMARKS if name == key), None)


def load_data(
    data: str,
    data_root: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str | None = None,
    classes: list[str] | None = None,
) -> Corpus:
    """Load ``data``: a benchmark name, a class folder, or a file in any supported format.

    ``classes`` fixes the class order (use the checkpoint's when evaluating).
    Format by suffix: ``.csv``/``.tsv`` delimited, ``.jsonl``/``.json`` JSON lines,
    ``.pos``/``.neg`` a pair; anything else ``label text`` lines.
    """
    path = Path(data)
    name = _benchmark_name(data)
    if name is not None and not path.exists():
        root = find_data_root(data_root)
        if root is None:
            raise UserError(f"benchmark {name}: no data root; pass --data-root DIR or set FILTERKIT_DATA")
        corpus = load_benchmark(name, root)
        return corpus
    if not path.exists():
        known = ", ".join(BENCHMARKS)
        raise UserError(f"{data}: no such file or folder (benchmark names: {known})")
    enc = encoding or "utf-8"
    suffix = path.suffix.lower()
    if path.is_dir():
        if name is not None:  # a benchmark folder given by path
            return load_benchmark(name, path.parent)
        texts, labels = read_class_folder(path, enc)
    elif suffix in (".csv", ".tsv", ".tab"):
        texts, labels = read_delimited(path, text_column, label_column, encoding=enc)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        texts, labels = read_jsonl(path, text_column, label_column, enc)
    elif suffix in (".pos", ".neg"):
        texts, labels = read_pos_neg(path, enc)
    else:
        texts, labels = read_label_text(path, enc)
    part, names = _make(texts, labels, str(path), classes)
    return Corpus(path.stem, names, {"all": part}, default_cv=10)
