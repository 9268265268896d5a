"""What every command of ``segur-workflow`` shares: French argparse, terminal-safe text, opening a repository.

Internal to :mod:`segur_workflow.cli`: the command modules (``_consult``, ``_store``, ``_delivery``) import
from here, never from the package, so that no command depends on the module that registers it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .._format import visible
from ..errors import CliError, InvalidInput
from ..model import Dossier

__all__ = [
    "DEMO_DB", "PROG", "CliError", "Parser", "add_db_option", "add_key_option", "clean", "french_argparse",
    "is_postgres_dsn", "key_of", "lines", "load_dossier", "open_repository", "repository", "title", "why",
    "write_output",
]

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
def french_argparse() -> Iterator[None]:
    module: Any = argparse
    previous = module._
    module._ = lambda message: _FR.get(message, message)
    try:
        yield
    finally:
        module._ = previous


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the full usage is one --help away.
        self.exit(2, f"{self.prog} : erreur : {message} (voir {self.prog} --help)\n")


# -- output helpers --------------------------------------------------------------------------------
def clean(text: str) -> str:
    """Text from a dossier, safe for a terminal line: control characters (ANSI escapes…) made visible."""
    return visible(text, line_breaks=" ")


_LABEL_WIDTH = 40  # longer labels (the pieces' titles) go on their own line, values stay aligned


def lines(rows: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = min(max((len(k) for k, _ in rows), default=0), _LABEL_WIDTH)
    out = []
    for k, v in rows:
        if len(k) > width:
            out += [f"{indent}{clean(k)} :", f"{indent}{' ' * width}   {clean(v)}"]
        else:
            out.append(f"{indent}{clean(k).ljust(width)} : {clean(v)}")
    return out


def title(text: str, char: str = "=") -> list[str]:
    return [text, char * len(text)]


# -- repository (the persistence helper's SQLite adapter) -------------------------------------------
def add_db_option(parser: argparse.ArgumentParser, *, required: bool = True, use: str = "") -> None:
    """``--db BASE`` for the commands that work on SQLite and PostgreSQL alike (every command that opens a
    database through :func:`open_repository`); ``use`` ends the help with what the command does with it."""
    parser.add_argument("--db", metavar="BASE", required=required,
                        help="fichier SQLite, ou chaîne de connexion PostgreSQL (postgresql://… ou host=… dbname=…)"
                             + (f" : {use}" if use else ""))


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
            raise CliError(f"Clé illisible : {clean(name)} ({why(exc)}).") from exc
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
def repository(db: str, key: Any = None) -> Iterator[Any]:
    repo = open_repository(db) if key is None else open_repository(db, key)
    try:
        yield repo
    finally:
        close = getattr(repo, "close", None)
        if callable(close):
            close()


def load_dossier(db: str | Path, numero: str, key: Any = None) -> Dossier:
    with repository(str(db), key) as repo:
        dossier = repo.get(numero).dossier
        if not isinstance(dossier, Dossier):
            raise CliError(f"Le dépôt {db} n'a pas rendu un dossier pour {numero}.")
        # Read whole while the repository is open: the journal rows below the head are read when first
        # needed (docs/persistence.md), and the commands show the whole history after it is closed.
        tuple(dossier.history), tuple(dossier.emails_sent)
    return dossier


def why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "introuvable"
    if isinstance(exc, IsADirectoryError):
        return "c'est un répertoire"
    if isinstance(exc, PermissionError):
        return "accès refusé"
    return clean(exc.strerror or type(exc).__name__)


def write_output(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Écriture impossible dans {clean(path)} : {why(exc)}") from exc
    print(f"{clean(path)} écrit.", file=sys.stderr)
