"""Labelled sentence readers: label-text lines, CSV/TSV, JSONL, .pos/.neg pairs, class folders, benchmarks.

Every reader splits files on ``b"\\n"`` *before* decoding: several benchmark files
are cp1252 and contain 0x85 (U+0085, NEL after decoding), which
``str.splitlines()`` would wrongly treat as a line break.  Empty lines are
skipped.  A file that does not decode raises a :class:`UserError` naming the
file, the line and the ``--encoding`` option to use.  A data file may hold at most
:data:`MAX_FILE_BYTES`; within it a CSV field may be as long as the file.

``label text`` lines that have a label but no text (Kim's CR and MPQA files have
a few) are skipped and reported in :attr:`Corpus.notes` (file, count, line numbers);
``strict=True`` refuses the file instead.

A :class:`Corpus` holds named parts (``train``, ``dev``, ``test``; or ``all``
when the data set has no fixed split) and the class names.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from filterkit.errors import UserError

__all__ = [
    "BENCHMARKS",
    "MAX_FILE_BYTES",
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
    "read_numbered_lines",
    "read_pos_neg",
]

MAX_FILE_BYTES = 512 * 2**20  # the largest data file read (the benchmarks' largest is 1.2 MB)


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
    notes: list[str] = field(default_factory=list)  # what was skipped while reading, one line each

    @property
    def has_test(self) -> bool:
        return "test" in self.parts

    def all_texts(self) -> list[str]:
        return [t for part in self.parts.values() for t in part.texts]


# ---------------------------------------------------------------- line reading
def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Non-empty lines of ``path`` split on ``b"\\n"`` before decoding (``\\r`` stripped)."""
    return [line for _, line in read_numbered_lines(path, encoding)]


def read_numbered_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[tuple[int, str]]:
    """``(line number, line)`` for the non-empty lines of ``path`` (see :func:`read_lines`); ``-`` is stdin."""
    if str(path) == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise UserError(f"stdin: more than the {MAX_FILE_BYTES // 2**20} MiB a data file may have; split it")
        return _numbered(raw, Path("stdin"), encoding)
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES and path.is_file():
            raise UserError(f"{path}: {size / 2**20:.0f} MiB, more than the {MAX_FILE_BYTES // 2**20} MiB "
                            "a data file may have; split it")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    return _numbered(raw, path, encoding)


def _numbered(raw: bytes, path: Path, encoding: str) -> list[tuple[int, str]]:
    lines = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        line = _decode(chunk, path, number, encoding).rstrip("\r")
        if line.strip():
            lines.append((number, line))
    return lines


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
def read_label_text(
    path: str | os.PathLike, encoding: str = "utf-8", strict: bool = False, notes: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """``label text`` lines (label = first whitespace-separated field) -> (texts, labels).

    Lines with a label but no text are skipped, and a line saying how many and which is
    appended to ``notes``; ``strict``: a :class:`UserError` instead.
    """
    texts, labels, empty = [], [], []
    for number, line in read_numbered_lines(path, encoding):
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            if strict:
                raise UserError(f"{path}: line {number} ({line.strip()[:40]!r}) has a label but no text; "
                                "expected 'label text' lines (without --strict such lines are skipped)")
            empty.append(number)
            continue
        labels.append(parts[0])
        texts.append(parts[1])
    if empty and notes is not None:
        shown = ", ".join(map(str, empty[:10])) + (", ..." if len(empty) > 10 else "")
        notes.append(f"{path}: skipped {len(empty)} line{'s' if len(empty) > 1 else ''} with a label but no text "
                     f"(line{'s' if len(empty) > 1 else ''} {shown})")
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
    text = _read_text(path, encoding)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_FILE_BYTES))  # a field may be as long as the file (128 KB by default)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise UserError(f"{path}: not a valid {'TSV' if delimiter == chr(9) else 'CSV'} file ({exc})") from None
    finally:
        csv.field_size_limit(limit)
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


def read_class_folder(
    folder: str | os.PathLike, encoding: str = "utf-8", notes: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """A folder with one file per class; the file name without suffix is the class, each line an example.

    A folder holding ``NAME.pos`` and ``NAME.neg`` is read as that pair (classes ``neg``/``pos``);
    its other files are left out, and ``notes`` says so.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UserError(f"{folder}: empty folder; expected one text file per class")
    pairs = sorted({p.stem for p in files if p.suffix == ".pos"} & {p.stem for p in files if p.suffix == ".neg"})
    if pairs:
        texts, labels = [], []
        for stem in pairs:
            t, y = read_pos_neg(folder / f"{stem}.pos", encoding)
            texts, labels = texts + t, labels + y
        others = [p.name for p in files if p.suffix not in (".pos", ".neg") or p.stem not in pairs]
        if others and notes is not None:
            notes.append(f"{folder}: read as .pos/.neg pair{'s' if len(pairs) > 1 else ''} "
                         f"{', '.join(pairs)}; left out {len(others)} other file{'s' if len(others) > 1 else ''} "
                         f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''})")
        return texts, labels
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


def load_benchmark(name: str, root: str | os.PathLike, folder: str | os.PathLike | None = None) -> Corpus:
    """One of :data:`BENCHMARKS` from ``root`` (or from its own ``folder``) with its encoding and fixed split."""
    spec = BENCHMARKS[name]
    folder = Path(folder) if folder is not None else Path(root) / spec.folder
    if not folder.is_dir():
        raise UserError(f"{folder}: benchmark {name} not found under the data root {root} "
                        "(set --data-root or FILTERKIT_DATA)")
    classes = [str(i) for i in range(len(spec.classes))]
    parts, notes = {}, []
    for part, file_name in spec.files.items():
        texts, labels = read_label_text(folder / file_name, spec.encoding, notes=notes)
        parts[part], _ = _make(texts, labels, str(folder / file_name), classes)
    return Corpus(name, list(spec.classes), parts, default_cv=10, notes=notes)


def _benchmark_name(data: str) -> str | None:
    key = data.rstrip("/").upper()
    return next((name for name in BENCHMARKS if name == key), None)


def _benchmark_folder(path: Path) -> str | None:
    """The benchmark a folder given by its path holds (named like one and holding its files), else None."""
    name = _benchmark_name(path.name)
    if name is not None and all((path / f).is_file() for f in BENCHMARKS[name].files.values()):
        return name
    return None


def load_data(
    data: str,
    data_root: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str | None = None,
    classes: list[str] | None = None,
    strict: bool = False,
) -> Corpus:
    """Load ``data``: a benchmark name or folder, a class folder, or a file in any supported format.

    ``classes`` fixes the class order (use the checkpoint's when evaluating).  ``strict``:
    refuse ``label text`` lines without text instead of skipping them (see :attr:`Corpus.notes`).
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
    notes: list[str] = []
    if path.is_dir():
        name = _benchmark_folder(path)
        if name is not None:  # a benchmark folder given by its path
            return load_benchmark(name, path.parent, folder=path)
        texts, labels = read_class_folder(path, enc, notes)
    elif suffix in (".csv", ".tsv", ".tab"):
        texts, labels = read_delimited(path, text_column, label_column, encoding=enc)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        texts, labels = read_jsonl(path, text_column, label_column, enc)
    elif suffix in (".pos", ".neg"):
        texts, labels = read_pos_neg(path, enc)
    else:
        texts, labels = read_label_text(path, enc, strict, notes)
    part, names = _make(texts, labels, str(path), classes)
    return Corpus(path.stem, names, {"all": part}, default_cv=10, notes=notes)
