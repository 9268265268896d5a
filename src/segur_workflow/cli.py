"""The ``segur-workflow`` command line: ``demo``, ``diagram``, ``check``, ``emails``, ``show``, ``list``,
``export``, ``verify``, ``migrate``, ``deliver``, ``dead-letters`` (the last two in :mod:`.cli_delivery`).

An edge of the library (it may read files and print). Errors are one French line on stderr and a
non-zero exit code, never a traceback: 1 when a check refuses something, 2 for a usage or input
error, 70 for a bug. The commands that read a database (``show``, ``list``, ``export``, ``diagram
--db``) open it read-only: they never create a file nor write into one.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import __version__, diagrams, exports, rules
from ._email import Email
from ._format import format_date
from .emails import TEMPLATES
from .engine import allowed_commands, start
from .engine import handle as handle_command
from .errors import CliError, InvalidInput, WorkflowError
from .model import SAS, Actor, Attachment, Dossier
from .ports import DossierSummary
from .recap import BlocView, recapitulatif
from .screens import consultation_html, describe_entry, instruction_html
from .states import COMPTE, DEFINITIONS, DOSSIER, Status
from .vocabulary import PieceKind, Role

PROG = "segur-workflow"
DEMO_DB = Path("segur-demo.sqlite3")


# -- French argparse -----------------------------------------------------------------------------
# argparse looks its messages up through gettext at call time; we answer in French while main runs.
_FR = {
    "usage: ": "usage : ",
    "positional arguments": "arguments",
    "options": "options",
    "optional arguments": "options",
    "show this help message and exit": "affiche cette aide et quitte",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "the following arguments are required: %s": "argument(s) obligatoire(s) manquant(s) : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (choisir parmi %(choices)s)",
    "unrecognized arguments: %s": "argument(s) non reconnu(s) : %s",
    "expected one argument": "une valeur est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
}


@contextlib.contextmanager
def _french_argparse() -> Iterator[None]:
    module: Any = argparse
    previous = module._
    module._ = lambda message: _FR.get(message, message)
    try:
        yield
    finally:
        module._ = previous


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the full usage is one --help away.
        self.exit(2, f"{self.prog} : erreur : {message} (voir {self.prog} --help)\n")


# -- output helpers --------------------------------------------------------------------------------
def clean(text: str) -> str:
    """Text from a dossier, safe for a terminal: control characters (ANSI escapes…) made visible."""
    return "".join(
        " " if ch in "\n\r\t" else (f"\\x{ord(ch):02x}" if unicodedata.category(ch) in {"Cc", "Cf"} else ch)
        for ch in text
    )


_LABEL_WIDTH = 40  # longer labels (the pieces' titles) go on their own line, values stay aligned


def _lines(rows: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = min(max((len(k) for k, _ in rows), default=0), _LABEL_WIDTH)
    out = []
    for k, v in rows:
        if len(k) > width:
            out += [f"{indent}{clean(k)} :", f"{indent}{' ' * width}   {clean(v)}"]
        else:
            out.append(f"{indent}{clean(k).ljust(width)} : {clean(v)}")
    return out


def _title(text: str, char: str = "=") -> list[str]:
    return [text, char * len(text)]


# -- repository (the persistence helper's SQLite adapter) -------------------------------------------
def add_key_option(parser: argparse.ArgumentParser) -> None:
    """``--key-file [ID=]FICHIER`` (repeatable): the sealing keys of the database (docs/security.md)."""
    parser.add_argument(
        "--key-file", action="append", default=[], metavar="[ID=]FICHIER",
        help="clé de scellement (HMAC) de la base : le contenu du fichier, sans son saut de ligne final ; "
             "répétez l'option pour un trousseau (ID=FICHIER), la dernière clé est la clé courante ; "
             "sans option : empreintes SHA-256 sans clé",
    )


def key_of(args: argparse.Namespace) -> Any:
    """The ``key=`` the options name: ``None``, one key (bytes), or a keyring ``{id: key}`` (the last is current)."""
    specs: list[str] = list(getattr(args, "key_file", None) or [])
    if not specs:
        return None
    keys: dict[str, bytes] = {}
    for spec in specs:
        kid, sep, name = spec.partition("=")
        if not sep:
            kid, name = "", spec
        path = Path(name)
        try:
            secret = path.read_bytes()
        except OSError as exc:
            raise CliError(f"Clé illisible : {clean(name)} ({_why(exc)}).") from exc
        secret = secret[:-2] if secret.endswith(b"\r\n") else secret[:-1] if secret.endswith(b"\n") else secret
        if not secret:
            raise CliError(f"Le fichier de clé {clean(name)} est vide.")
        keys[kid] = secret
    if list(keys) == [""]:
        return keys[""]
    if "" in keys:
        raise CliError("Avec plusieurs clés, nommez chacune : --key-file ID=FICHIER.")
    return keys


def is_postgres_dsn(db: object) -> bool:
    """``db`` names a PostgreSQL database (a ``postgresql://`` URI or ``key=value`` conninfo), not a file."""
    text = str(db)
    return text.startswith(("postgresql://", "postgres://")) or bool(re.match(r"^\w+=", text))


def open_repository(db: str | Path, key: Any = None, *, read_only: bool = True) -> Any:
    """The repository of ``db``, sealed with ``key``: SQLite for a file, PostgreSQL for a connection string
    (``postgresql://…`` or ``host=… dbname=…``, the ``postgres`` extra). An SQLite file is opened read-only
    unless asked: a reading command never writes into a file, nor creates one."""
    if is_postgres_dsn(db):
        try:
            module = importlib.import_module("segur_workflow.adapters.postgres")
        except ImportError as exc:
            raise CliError(f"Le dépôt PostgreSQL n'est pas disponible dans cette installation ({exc}).") from exc
        return module.PostgresRepository(str(db), key=key)
    db = Path(db)  # only now: a Path would fold the « // » of a postgresql:// URI
    if not db.exists():
        raise CliError(f"Base de données introuvable : {clean(str(db))}")
    if not db.is_file():
        raise CliError(f"{clean(str(db))} n'est pas un fichier de base de données (c'est un répertoire ?).")
    try:
        module = importlib.import_module("segur_workflow.adapters.sqlite")
    except ImportError as exc:
        raise CliError(f"Le dépôt SQLite n'est pas disponible dans cette installation ({exc}).") from exc
    try:
        return module.SQLiteRepository(db, key=key, read_only=read_only)
    except InvalidInput as exc:
        raise CliError(f"{clean(str(db))} n'est pas une base segur-workflow (fichier SQLite créé par "
                       f"{PROG} demo ou par un hôte de la bibliothèque).") from exc


@contextlib.contextmanager
def _repository(db: str, key: Any = None) -> Iterator[Any]:
    repo = open_repository(db) if key is None else open_repository(db, key)
    try:
        yield repo
    finally:
        close = getattr(repo, "close", None)
        if callable(close):
            close()


def load_dossier(db: Path, numero: str, key: Any = None) -> Dossier:
    with _repository(str(db), key) as repo:
        dossier = repo.get(numero).dossier
    if not isinstance(dossier, Dossier):
        raise CliError(f"Le dépôt {db} n'a pas rendu un dossier pour {numero}.")
    return dossier


# -- show ------------------------------------------------------------------------------------------
def _bloc(b: BlocView) -> list[str]:
    badge = f"  [{b.badge_label}]" if b.badge_label else ""
    out = [f"  {clean(b.titre)}{badge}"]
    out += _lines([(x.libelle, x.valeur) for x in b.lignes], "    ") or ["    (aucun)"]
    return out


def show_text(dossier: Dossier) -> str:
    """The consultation screen of ``dossier`` as terminal text (recapitulatif, history, next actions)."""
    r = recapitulatif(dossier)
    out = _title(f"Demande de financement {clean(r.numero)}")
    out += _lines([(x.libelle, x.valeur) for x in r.lignes()]
                  + [("Gestionnaire en charge", dossier.gestionnaire or "non affecté")])
    for phase in r.phases:
        out += ["", *_title(phase.titre, "-")]
        for b in phase.blocs:
            out += _bloc(b)
    out += ["", *_title(r.courriels.titre, "-")]
    out += _lines([(x.libelle, x.valeur) for x in r.courriels.lignes]) or ["  (aucun)"]
    out += ["", *_title("Historique", "-")]
    for i, entry in enumerate(dossier.history, 1):
        e = describe_entry(entry)
        comment = f" « {clean(e.commentaire)} »" if e.commentaire else ""
        extra = "".join(f" ; {clean(p)}" for p in e.precisions)
        out.append(f"  {i:>2}. {e.quand}  {clean(e.qui)} : {e.quoi} ({e.statut}){extra}{comment}")
    out += ["", *_title("Actions possibles maintenant", "-")]
    owner = Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id)
    for actor in (Actor(Role.GESTIONNAIRE, dossier.gestionnaire or "gestionnaire"), owner):
        possible = ", ".join(sorted(DOSSIER.labels[t] for t in allowed_commands(dossier, actor))) or "aucune"
        out.append(f"  {actor.role.label} : {possible}")
    return "\n".join(out) + "\n"


# -- emails ----------------------------------------------------------------------------------------
def example_email(template: str) -> Email:
    """``template`` rendered by the engine itself on the example dossier (LE SELECT, FINSAS009250)."""
    from . import examples

    spec = next((t for t in DOSSIER.transitions if t.email == template), None)
    if spec is None and any(template in t.emails for t in COMPTE.transitions):
        from .compte import courriel_exemple  # an account mail: the account engine on an example account

        return courriel_exemple(template)
    if spec is None:
        raise CliError(f"Aucune transition n'envoie le modèle « {template} ».")
    if spec.creates:
        return start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0).emails[-1]
    dossier = examples.dossier_at(Status(spec.sources[0]))
    now = dossier.date_changement_statut
    emails: tuple[Email, ...] = ()
    for command in examples.commands_to_fire(dossier, spec.trigger):
        now += timedelta(hours=1)
        outcome = handle_command(dossier, command, now=now)
        dossier, emails = outcome.dossier, outcome.emails
    (email,) = emails
    return email


# -- commands --------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import run_demo

    def write(line: str) -> None:
        print(line, file=out)

    def error(line: str) -> None:
        print(f"{PROG} : {clean(line)}", file=sys.stderr)

    return run_demo(Path(args.db), write, error=error)


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    by_suffix = diagrams.renderer_for_suffix(Path(args.output).suffix) if args.output else None
    return by_suffix.name if by_suffix is not None else diagrams.FORMATS[0]


#: The file suffixes each diagram format may be written to (``-o``).
_DIAGRAM_SUFFIXES = {"mermaid": ("mmd", "mermaid", "md"), "dot": ("dot", "gv"), "scxml": ("scxml", "xml"),
                     "plantuml": ("puml", "plantuml", "pu"), "svg": ("svg",), "png": ("png",)}


def _cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    fmt = _format_of(args)
    highlight = None
    if args.output:
        suffix = Path(args.output).suffix.lower().lstrip(".")
        allowed = _DIAGRAM_SUFFIXES.get(fmt, ())
        if suffix and suffix not in allowed:
            raise CliError(f"Le fichier {clean(args.output)} ne correspond pas au format {fmt} : utilisez "
                           + " ou ".join(f".{x}" for x in allowed) + " (ou --format).")
    if args.db is not None and args.dossier is None:
        raise CliError("--db sert à lire un dossier à mettre en évidence : indiquez aussi --dossier NUMERO.")
    if args.dossier is not None:
        if args.db is None:
            raise CliError("--dossier demande aussi --db FICHIER (la base où lire le dossier).")
        if args.machine != "dossier":
            raise CliError("--dossier ne s'applique qu'à la machine « dossier ».")
        highlight = load_dossier(Path(args.db), args.dossier, key_of(args))
    result = diagrams.diagram(args.machine, fmt, highlight=highlight)
    if args.output:
        target = Path(args.output)
        try:
            if isinstance(result, bytes):
                target.write_bytes(result)
            else:
                target.write_text(result, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"Écriture impossible dans {target} : {_why(exc)}") from exc
        print(f"{target} écrit ({fmt}).", file=sys.stderr)
        return 0
    if isinstance(result, bytes):
        if out.isatty():
            raise CliError(f"Le format {fmt} est binaire : utilisez -o FICHIER.")
        buffer = getattr(out, "buffer", None)
        if buffer is None:
            raise CliError(f"Le format {fmt} est binaire : utilisez -o FICHIER.")
        buffer.write(result)
        buffer.flush()
        return 0
    out.write(result)
    return 0


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    kind = PieceKind(args.piece) if args.piece else None
    refused = 0
    for name in args.files:
        path = Path(name)
        try:
            attachment = Attachment.from_path(path, limit=SAS.max_attachment_bytes + 1)
        except OSError as exc:
            refused += 1
            print(f"✘ {clean(name)} : fichier illisible ({_why(exc)}).", file=out)
            continue
        # without --piece the file rule is the same for every piece: check it as the first avance piece
        violations = rules.check_attachment(kind or SAS.pieces_avance[0], attachment, SAS)
        what = f" comme « {kind.label} »" if kind else ""
        if violations:
            refused += 1
            reasons = " ; ".join(v.message for v in violations)
            print(f"✘ {clean(name)}{what} : {reasons}", file=out)
        else:
            print(f"✔ {clean(name)}{what} : conforme ({attachment.media_type}, {attachment.size} octets).", file=out)
    if refused:
        print(f"{refused} fichier(s) refusé(s) sur {len(args.files)}.", file=out)
    return 1 if refused else 0


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "introuvable"
    if isinstance(exc, IsADirectoryError):
        return "c'est un répertoire"
    if isinstance(exc, PermissionError):
        return "accès refusé"
    return clean(exc.strerror or type(exc).__name__)


def _cmd_emails(args: argparse.Namespace, out: TextIO) -> int:
    names = [args.template] if args.template else list(TEMPLATES)
    for i, name in enumerate(names):
        email = example_email(name)
        if i:
            print("", file=out)
        print("\n".join(_title(f"Modèle {name}", "-")), file=out)
        print(f"À : {email.to}", file=out)
        print(f"Objet : {email.subject}", file=out)
        print("", file=out)
        print((email.html if args.html else email.text).rstrip("\n"), file=out)
    return 0


def _write_output(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Écriture impossible dans {clean(path)} : {_why(exc)}") from exc
    print(f"{clean(path)} écrit.", file=sys.stderr)


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    dossier = load_dossier(Path(args.db), args.numero, key_of(args))
    if not args.html:
        if args.output or args.gestionnaire:
            raise CliError("-o et --gestionnaire s'emploient avec --html.")
        out.write(show_text(dossier))
        return 0
    page = (instruction_html(dossier, Actor(Role.GESTIONNAIRE, args.gestionnaire)) if args.gestionnaire
            else consultation_html(dossier))
    if args.output:
        _write_output(args.output, page)
    else:
        out.write(page)
    return 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    from .errors import SerializationError

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


def _cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    def log(line: str) -> None:
        print(clean(line), file=out)

    if is_postgres_dsn(args.db):
        try:
            from .adapters.postgres import migrate_database as migrate_postgres
        except ImportError as exc:
            raise CliError(f"Le dépôt PostgreSQL n'est pas disponible dans cette installation ({exc}).") from exc
        count = migrate_postgres(args.db, key=key_of(args), log=log)
        db: Path | str = "« la même chaîne de connexion »"
    else:
        from .adapters.sqlite import migrate_database

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
    try:
        return Status(value)
    except ValueError:
        raise CliError(f"Statut inconnu « {clean(value)} » : choisissez parmi "
                       + ", ".join(s.value for s in Status) + ".") from None


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


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    if args.limit < 1:
        raise CliError("--limit doit être un entier ≥ 1.")
    with _repository(args.db, key_of(args)) as repo:
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


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    fmt = args.format or Path(args.output).suffix.lower().lstrip(".") or "csv"
    if fmt not in exports.FORMATS:
        raise CliError(f"Format d'export inconnu « {clean(fmt)} » : utilisez --format "
                       + " | ".join(exports.FORMATS) + ".")
    bar = _progress(not args.quiet and sys.stderr.isatty())
    try:
        with _repository(args.db, key_of(args)) as repo:
            count = exports.write(_pages(repo, args), args.output, format=fmt,
                                  progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        print(f"{clean(args.output)} écrit : {count} dossier(s) ({fmt}).", file=sys.stderr)
    return 0


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="FICHIER", required=True, help="base SQLite (lue, jamais modifiée)")
    p.add_argument("--status", metavar="STATUT",
                   help="un statut parmi : " + ", ".join(s.value for s in Status))
    p.add_argument("--gestionnaire", metavar="ID", help="dossiers confiés à ce gestionnaire")
    p.add_argument("--ans-id", dest="ans_id", metavar="ANS", help="dossier de ce fournisseur (N° ANS)")
    p.add_argument("--siret", metavar="SIRET", help="dossiers de ce SIRET")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Demande de financement Ségur numérique (couloir SAS) : démo, diagrammes, contrôle de "
                    "pièces, courriels, consultation d'un dossier, listes de travail et exports.",
        epilog="Codes de sortie : 0 succès ; 1 un contrôle refuse (check, demo) ; 2 erreur d'utilisation ou "
               "fichier inutilisable ; 70 erreur interne (à signaler) ; 130 interrompu.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help="affiche la version et quitte")
    sub = parser.add_subparsers(dest="commande", metavar="COMMANDE", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="déroule un dossier SAS complet sur une base SQLite locale",
                       description="Déroule un dossier SAS complet (avance, contrôles, décision, solde, "
                                   "modification, complément, décision, et un dossier rejeté) sur une base SQLite.")
    p.add_argument("--db", default=str(DEMO_DB), help=f"fichier SQLite (défaut : {DEMO_DB})")
    p.set_defaults(run=_cmd_demo)

    formats = ", ".join(r.title for r in diagrams.RENDERERS.values())
    p = sub.add_parser("diagram", help=f"diagramme d'une machine ({formats})",
                       description="Diagramme dérivé de la définition : états, phases, états finaux, et pour "
                                   "chaque transition son déclencheur, ses rôles, ses gardes et ses règles.")
    p.add_argument("--machine", choices=sorted(DEFINITIONS), default="dossier",
                   help="machine à dessiner (défaut : dossier)")
    p.add_argument("--format", choices=diagrams.FORMATS,
                   help=f"format (défaut : d'après l'extension de -o, sinon {diagrams.FORMATS[0]})")
    p.add_argument("--dossier", metavar="NUMERO", help="met en évidence l'état et le parcours de ce dossier")
    p.add_argument("--db", metavar="FICHIER", help="base SQLite où lire le dossier")
    add_key_option(p)
    p.add_argument("-o", "--output", metavar="FICHIER", help="fichier de sortie (défaut : sortie standard)")
    p.set_defaults(run=_cmd_diagram)

    p = sub.add_parser("check", help="contrôle des fichiers selon la règle des pièces justificatives",
                       description="Applique la règle des pièces (.png, .jpg, .jpeg, .pdf, contenu conforme à "
                                   "l'extension, 4 Mo au plus) ; code 0 si tout passe, 1 sinon.")
    p.add_argument("files", nargs="+", metavar="FICHIER", help="fichier(s) à contrôler (PDF, PNG, JPEG)")
    p.add_argument("--piece", choices=[k.value for k in PieceKind], help="pièce attendue (pour le message)")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser("emails", help="affiche les courriels rendus avec les données d'exemple",
                       description="Rend les modèles de courriel avec le dossier d'exemple (LE SELECT, FINSAS009250).")
    p.add_argument("--template", choices=list(TEMPLATES), help="un seul modèle (défaut : tous)")
    p.add_argument("--html", action="store_true", help="affiche la version HTML au lieu du texte")
    p.set_defaults(run=_cmd_emails)

    p = sub.add_parser("show", help="écran de consultation d'un dossier",
                       description="Écran de consultation d'un dossier lu dans une base SQLite (lue, jamais "
                                   "modifiée) : en texte, ou en page HTML avec --html.")
    p.add_argument("numero", metavar="NUMERO", help="numéro du dossier (ex. FINSAS000001)")
    p.add_argument("--db", metavar="FICHIER", required=True, help="base SQLite (lue, jamais modifiée)")
    p.add_argument("--html", action="store_true",
                   help="page HTML : l'écran du fournisseur, ou celui d'un gestionnaire avec --gestionnaire")
    p.add_argument("--gestionnaire", metavar="ID", help="avec --html : l'écran d'instruction pour ce gestionnaire")
    p.add_argument("-o", "--output", metavar="FICHIER", help="avec --html : fichier de la page (défaut : sortie "
                                                              "standard)")
    add_key_option(p)
    p.set_defaults(run=_cmd_show)

    p = sub.add_parser("list", help="liste de travail : dossiers par statut, gestionnaire, fournisseur",
                       description="Liste des dossiers (résumés lus sans l'historique), par numéro croissant.")
    _filters(p)
    add_key_option(p)
    p.add_argument("--limit", type=int, default=50, metavar="N", help="dossiers par page (défaut : 50)")
    p.add_argument("--after", metavar="NUMERO", help="page suivante : après ce numéro")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("export", help="export d'une liste de dossiers en CSV, XLSX ou ODS",
                       description="Exporte les dossiers (filtres de « list ») pour un tableur : CSV (UTF-8, « ; »), "
                                   "XLSX ou ODS ; titres de colonnes en français, dates jj/mm/aaaa.")
    _filters(p)
    add_key_option(p)
    p.add_argument("-o", "--output", metavar="FICHIER", required=True, help="fichier à écrire")
    p.add_argument("--format", choices=exports.FORMATS, help="format (défaut : d'après l'extension, sinon csv)")
    p.add_argument("-q", "--quiet", action="store_true", help="sans barre de progression ni résumé")
    p.set_defaults(run=_cmd_export)
    p = sub.add_parser("verify", help="vérifie les sceaux et les chaînes de tous les dossiers d'une base",
                       description="Vérifie chaque dossier d'une base SQLite ou PostgreSQL et toute sa chaîne "
                                   "(instantané, journal, historique) : une ligne par problème (numéro : où : quoi) ; "
                                   "code 0 si tout est intact, 1 sinon.")
    p.add_argument("--db", metavar="BASE", required=True,
                   help="fichier SQLite, ou chaîne de connexion PostgreSQL (postgresql://… ou host=… dbname=…)")
    add_key_option(p)
    p.set_defaults(run=_cmd_verify)

    p = sub.add_parser("migrate", help="migre une base de l'ancien format (schéma 3) et la scelle",
                       description="Migration explicite d'une base écrite par la version précédente (historique dans "
                                   "le document, schéma 3) vers les instantanés scellés et le journal : chaque dossier "
                                   "est contrôlé (chaîne d'historique), scellé avec la clé, et journalisé ici. Tout ou "
                                   "rien. Sur une base déjà au format courant : recalcule les colonnes des listes de "
                                   "travail depuis chaque dossier vérifié (une transaction par dossier ; un dossier "
                                   "altéré arrête la commande). SQLite ou PostgreSQL.")
    p.add_argument("--db", metavar="BASE", required=True,
                   help="fichier SQLite, ou chaîne de connexion PostgreSQL (postgresql://… ou host=… dbname=…)")
    add_key_option(p)
    p.set_defaults(run=_cmd_migrate)

    from .cli_delivery import add_parsers as add_delivery_parsers

    add_delivery_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout
    try:
        with _french_argparse():
            try:
                args = build_parser().parse_args(args_list)
            except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
                return exit_.code if isinstance(exit_.code, int) else 2
        code: int = args.run(args, out)
        out.flush()
        return code
    except WorkflowError as exc:
        print(f"{PROG} : {clean(exc.message)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} : interrompu.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (head, less) went away: not an error worth a traceback
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: still one line, with what to report
        print(f"{PROG} : erreur inattendue ({type(exc).__name__} : {clean(str(exc))}) — merci de la signaler.",
              file=sys.stderr)
        return 70


__all__ = ["CliError", "add_key_option", "build_parser", "example_email", "key_of", "main", "open_repository",
           "show_text"]


if __name__ == "__main__":
    raise SystemExit(main())
