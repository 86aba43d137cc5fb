"""Write the synthetic corpora to TSV files (the commands model cards quote).

python -m models.data.corpus_cli en-hi --n 20000 --seed 1 --min-words 3 --max-words 60 --out data.tsv
python -m models.data.corpus_cli en-hi-buckets --per-bucket 100 --seed 7 --out buckets.tsv
python -m models.data.corpus_cli dates --n 20000 --seed 1 --out dates.tsv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from models.data import corpus_dates, corpus_en_hi


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m models.data.corpus_cli", description="Write a synthetic corpus to a TSV file."
    )
    sub = parser.add_subparsers(dest="corpus", required=True)

    en_hi = sub.add_parser("en-hi", help="English→Hindi household commands (with alignments)")
    en_hi.add_argument("--n", type=int, required=True)
    en_hi.add_argument("--seed", type=int, default=1)
    en_hi.add_argument("--min-words", type=int, default=3)
    en_hi.add_argument("--max-words", type=int, default=15)
    en_hi.add_argument("--no-alignment", action="store_true", help="write only source and target columns")
    en_hi.add_argument("--exclude", type=Path, nargs="*", default=[], help="TSV files whose sources must not recur")
    en_hi.add_argument("--out", type=Path, required=True)

    buckets = sub.add_parser("en-hi-buckets", help="English→Hindi, the same count in each length bucket")
    buckets.add_argument("--per-bucket", type=int, required=True)
    buckets.add_argument("--seed", type=int, default=1)
    buckets.add_argument("--no-alignment", action="store_true")
    buckets.add_argument("--exclude", type=Path, nargs="*", default=[], help="TSV files whose sources must not recur")
    buckets.add_argument("--out", type=Path, required=True)

    dates = sub.add_parser("dates", help="written dates → ISO YYYY-MM-DD")
    dates.add_argument("--n", type=int, required=True)
    dates.add_argument("--seed", type=int, default=1)
    dates.add_argument("--exclude", type=Path, nargs="*", default=[], help="TSV files whose sources must not recur")
    dates.add_argument("--out", type=Path, required=True)
    return parser


def _write(args: argparse.Namespace) -> int:
    seen = _sources(args.exclude)
    if args.corpus == "dates":
        dates = corpus_dates.generate(args.n * 3 if seen else args.n, args.seed)
        return corpus_dates.write_tsv([d for d in dates if d[0] not in seen][: args.n], args.out)
    if args.corpus == "en-hi":
        # Oversample, then drop sentences seen elsewhere so a test set stays held out.
        pool = corpus_en_hi.generate(args.n * 3 if seen else args.n, args.seed, args.min_words, args.max_words)
        pairs = [p for p in pool if p.source not in seen][: args.n]
    else:
        pool = corpus_en_hi.generate_by_length(args.per_bucket * 3 if seen else args.per_bucket, args.seed)
        pairs = _per_bucket([p for p in pool if p.source not in seen], args.per_bucket)
    return corpus_en_hi.write_tsv(pairs, args.out, with_alignment=not args.no_alignment)


def _sources(paths: Sequence[Path]) -> set[str]:
    return {line.split("\t", 1)[0] for path in paths for line in path.read_text(encoding="utf-8").splitlines()}


def _per_bucket(pairs: Sequence[corpus_en_hi.Pair], per_bucket: int) -> list[corpus_en_hi.Pair]:
    """At most `per_bucket` pairs from each length bucket, in the pool's order."""
    counts: dict[int, int] = {}
    kept = []
    for pair in pairs:
        bucket = min((len(pair.source.split()) - 1) // 10, 5)
        if counts.get(bucket, 0) < per_bucket:
            counts[bucket] = counts.get(bucket, 0) + 1
            kept.append(pair)
    return kept


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        count = _write(args)
    except ValueError as exc:  # bad sizes or lengths: report like an argument error
        parser.error(str(exc))
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {count} pairs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
