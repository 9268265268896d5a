"""The commands over a database of dossiers: ``verify``, ``migrate``, ``list``, ``export``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from .. import exports
from .._checks import choices, enum_member
from .._format import format_date
from ..ports import DossierSummary
from ..states import Status
from ._common import PROG, CliError, add_db_option, clean, is_postgres_dsn, key_of, open_repository, repository

__all__ = ["add_filters", "cmd_export", "cmd_list", "cmd_migrate", "cmd_verify"]


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    from ..errors import SerializationError

    db = args.db
    try:
        repo = open_repository(db, key_of(args))
    except SerializationError as exc:  # a database of the previous layout: not verifiable before its migration
        print(f"{clean(str(db))} : {clean(exc.field)} : {clean(exc.reason)}", file=out)
        return 1
    problems = 0
    checked = 0
    # disable=None: a bar on a terminal only; the lines on stdout stay machine-readable either way
    with repo, tqdm(desc="vérification", unit=" dossier", file=sys.stderr, disable=None, leave=False) as bar:
        def progress(done: int, total: int) -> None:
            nonlocal checked
            checked = done
            bar.total = total
            bar.update(done - bar.n)

        for problem in repo.verify(progress=progress):
            problems += 1
            bar.clear()
            print(f"{clean(problem.numero)} : {clean(problem.where)} : {clean(problem.what)}", file=out)
    if problems:
        print(f"{problems} problème(s) sur {checked} dossier(s) vérifié(s).", file=sys.stderr)
        return 1
    print(f"{checked} dossier(s) vérifié(s) : tous intacts (sceaux et chaînes).", file=sys.stderr)
    return 0


def cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    def log(line: str) -> None:
        print(clean(line), file=out)

    if is_postgres_dsn(args.db):
        try:
            from ..adapters.postgres import migrate_database as migrate_postgres
        except ImportError as exc:
            raise CliError(f"Le dépôt PostgreSQL n'est pas disponible dans cette installation ({exc}).") from exc
        count = migrate_postgres(args.db, key=key_of(args), log=log)
        db: Path | str = "« la même chaîne de connexion »"
    else:
        from ..adapters.sqlite import migrate_database

        db = Path(args.db)
        if not db.is_file():
            raise CliError(f"Base de données introuvable : {db}")
        count = migrate_database(db, key=key_of(args), log=log)
    if count == 0:
        # The layout is current: its worklist columns may still be empty (a database written before them)
        # or edited; they are re-derived from each verified dossier (docs/desk.md).
        with contextlib.closing(open_repository(args.db, key_of(args), read_only=False)) as repo:
            filled = repo.fill_summaries(log=log)
        if filled:
            print(f"{filled} ligne(s) de liste de travail recalculée(s) depuis les dossiers scellés. Vérifiez : "
                  f"{PROG} verify --db {clean(str(db))}", file=out)
        else:
            print(f"{clean(str(db))} : déjà au format courant (instantanés scellés, journal, listes de travail), "
                  "rien à migrer.", file=out)
    else:
        print(f"{count} dossier(s) migré(s) et scellé(s). Vérifiez : {PROG} verify --db {clean(str(db))}",
              file=out)
    return 0


def _status(value: str | None) -> Status | None:
    if value is None:
        return None
    member = enum_member(Status, value)
    if member is None:
        raise CliError(f"Statut inconnu « {clean(value)} » : choisissez parmi {choices(Status)}.")
    return member


def _pages(repo: Any, args: argparse.Namespace, *, page: int = 1000, limit: int | None = None
           ) -> Iterator[DossierSummary]:
    """Every summary matching the filters of ``args``, page by page (keyset), at most ``limit``."""
    after = getattr(args, "after", None)
    given = 0
    while limit is None or given < limit:
        size = page if limit is None else min(page, limit - given)
        rows = repo.search(status=_status(args.status), gestionnaire=args.gestionnaire, ans_id=args.ans_id,
                           siret=args.siret, limit=size, after=after)
        yield from rows
        given += len(rows)
        if len(rows) < size:
            return
        after = rows[-1].numero


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    if args.limit < 1:
        raise CliError("--limit doit être un entier ≥ 1.")
    with repository(args.db, key_of(args)) as repo:
        rows = list(_pages(repo, args, limit=args.limit + 1))
    shown = rows[: args.limit]
    titles = ("Numéro", "Statut", "N° ANS", "Dénomination sociale", "Gestionnaire", "Dépôt", "Changement")
    table = [titles] + [(s.numero, s.status.label, s.ans_id, s.raison_sociale, s.gestionnaire or "—",
                         format_date(s.date_depot), format_date(s.date_changement_statut)) for s in shown]
    widths = [min(max(len(clean(r[i])) for r in table), 40) for i in range(len(titles))]
    for r in table:
        print("  ".join(clean(c)[:40].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)
    if not shown:
        print("(aucun dossier)", file=out)
    elif len(rows) > args.limit:
        print(f"… page suivante : --after {shown[-1].numero}", file=out)
    return 0


def _progress(enabled: bool) -> Any:
    """A tqdm bar on stderr when it is a terminal and tqdm is installed (the ``exports`` extra)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(unit=" dossiers", desc="Export", file=sys.stderr, leave=False)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    fmt = args.format or Path(args.output).suffix.lower().lstrip(".") or "csv"
    if fmt not in exports.FORMATS:
        raise CliError(f"Format d'export inconnu « {clean(fmt)} » : utilisez --format "
                       + " | ".join(exports.FORMATS) + ".")
    bar = _progress(not args.quiet and sys.stderr.isatty())
    try:
        with repository(args.db, key_of(args)) as repo:
            count = exports.write(_pages(repo, args), args.output, format=fmt,
                                  progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        print(f"{clean(args.output)} écrit : {count} dossier(s) ({fmt}).", file=sys.stderr)
    return 0


def add_filters(p: argparse.ArgumentParser) -> None:
    add_db_option(p, use="lue, jamais modifiée")
    p.add_argument("--status", metavar="STATUT",
                   help="un statut parmi : " + choices(Status))
    p.add_argument("--gestionnaire", metavar="ID", help="dossiers confiés à ce gestionnaire")
    p.add_argument("--ans-id", dest="ans_id", metavar="ANS", help="dossier de ce fournisseur (N° ANS)")
    p.add_argument("--siret", metavar="SIRET", help="dossiers de ce SIRET")
