"""The ``segur-workflow`` command line: ``demo``, ``diagram``, ``check``, ``emails``, ``show``, ``list``,
``export``, ``verify``, ``migrate``, ``deliver``, ``dead-letters``.

An edge of the library (it may read files and print). Errors are one French line on stderr and a
non-zero exit code, never a traceback: 1 when a check refuses something, 2 for a usage or input
error, 70 for a bug. The commands that read a database (``show``, ``list``, ``export``, ``diagram
--db``) open it read-only: they never create a file nor write into one.

This module registers the commands and runs them; each lives in the module of its kind: ``_consult``
(what shows the definition, the examples or one dossier), ``_store`` (what reads or migrates a database),
``_delivery`` (the outbox relay), with what they share in ``_common``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from .. import __version__, diagrams, exports
from ..emails import TEMPLATES
from ..errors import WorkflowError
from ..examples import example_email
from ..states import DEFINITIONS
from ..vocabulary import PieceKind
from ._common import (
    DEMO_DB,
    PROG,
    CliError,
    Parser,
    add_db_option,
    add_key_option,
    clean,
    french_argparse,
    key_of,
    open_repository,
)
from ._consult import cmd_check, cmd_demo, cmd_diagram, cmd_emails, cmd_show, show_text
from ._delivery import add_parsers as add_delivery_parsers
from ._store import add_filters, cmd_export, cmd_list, cmd_migrate, cmd_verify

__all__ = ["CliError", "add_key_option", "build_parser", "example_email", "key_of", "main", "open_repository",
           "show_text"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Demande de financement Ségur numérique (couloir SAS) : démo, diagrammes, contrôle de "
                    "pièces, courriels, consultation d'un dossier, listes de travail et exports.",
        epilog="Codes de sortie : 0 succès ; 1 un contrôle refuse (check, demo) ; 2 erreur d'utilisation ou "
               "fichier inutilisable ; 70 erreur interne (à signaler) ; 130 interrompu.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help="affiche la version et quitte")
    sub = parser.add_subparsers(dest="commande", metavar="COMMANDE", required=True, parser_class=Parser)

    p = sub.add_parser("demo", help="déroule un dossier SAS complet sur une base SQLite locale",
                       description="Déroule un dossier SAS complet (avance, contrôles, décision, solde, "
                                   "modification, complément, décision, et un dossier rejeté) sur une base SQLite.")
    p.add_argument("--db", default=str(DEMO_DB), help=f"fichier SQLite (défaut : {DEMO_DB})")
    p.set_defaults(run=cmd_demo)

    formats = ", ".join(r.title for r in diagrams.RENDERERS.values())
    p = sub.add_parser("diagram", help=f"diagramme d'une machine ({formats})",
                       description="Diagramme dérivé de la définition : états, phases, états finaux, et pour "
                                   "chaque transition son déclencheur, ses rôles, ses gardes et ses règles.")
    p.add_argument("--machine", choices=sorted(DEFINITIONS), default="dossier",
                   help="machine à dessiner (défaut : dossier)")
    p.add_argument("--format", choices=diagrams.FORMATS,
                   help=f"format (défaut : d'après l'extension de -o, sinon {diagrams.FORMATS[0]})")
    p.add_argument("--dossier", metavar="NUMERO", help="met en évidence l'état et le parcours de ce dossier")
    add_db_option(p, required=False, use="la base où lire le dossier")
    add_key_option(p)
    p.add_argument("-o", "--output", metavar="FICHIER", help="fichier de sortie (défaut : sortie standard)")
    p.set_defaults(run=cmd_diagram)

    p = sub.add_parser("check", help="contrôle des fichiers selon la règle des pièces justificatives",
                       description="Applique la règle des pièces (.png, .jpg, .jpeg, .pdf, contenu conforme à "
                                   "l'extension, 4 Mo au plus) ; code 0 si tout passe, 1 sinon.")
    p.add_argument("files", nargs="+", metavar="FICHIER", help="fichier(s) à contrôler (PDF, PNG, JPEG)")
    p.add_argument("--piece", choices=[k.value for k in PieceKind], help="pièce attendue (pour le message)")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("emails", help="affiche les courriels rendus avec les données d'exemple",
                       description="Rend les modèles de courriel avec le dossier d'exemple (LE SELECT, FINSAS009250).")
    p.add_argument("--template", choices=list(TEMPLATES), help="un seul modèle (défaut : tous)")
    p.add_argument("--html", action="store_true", help="affiche la version HTML au lieu du texte")
    p.set_defaults(run=cmd_emails)

    p = sub.add_parser("show", help="écran de consultation d'un dossier",
                       description="Écran de consultation d'un dossier lu dans une base SQLite ou PostgreSQL (lue, "
                                   "jamais modifiée) : en texte, ou en page HTML avec --html.")
    p.add_argument("numero", metavar="NUMERO", help="numéro du dossier (ex. FINSAS000001)")
    add_db_option(p, use="lue, jamais modifiée")
    p.add_argument("--html", action="store_true",
                   help="page HTML : l'écran du fournisseur, ou celui d'un gestionnaire avec --gestionnaire")
    p.add_argument("--gestionnaire", metavar="ID", help="avec --html : l'écran d'instruction pour ce gestionnaire")
    p.add_argument("-o", "--output", metavar="FICHIER", help="avec --html : fichier de la page (défaut : sortie "
                                                              "standard)")
    add_key_option(p)
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("list", help="liste de travail : dossiers par statut, gestionnaire, fournisseur",
                       description="Liste des dossiers (résumés lus sans l'historique), par numéro croissant.")
    add_filters(p)
    add_key_option(p)
    p.add_argument("--limit", type=int, default=50, metavar="N", help="dossiers par page (défaut : 50)")
    p.add_argument("--after", metavar="NUMERO", help="page suivante : après ce numéro")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("export", help="export d'une liste de dossiers en CSV, XLSX ou ODS",
                       description="Exporte les dossiers (filtres de « list ») pour un tableur : CSV (UTF-8, « ; »), "
                                   "XLSX ou ODS ; titres de colonnes en français, dates jj/mm/aaaa.")
    add_filters(p)
    add_key_option(p)
    p.add_argument("-o", "--output", metavar="FICHIER", required=True, help="fichier à écrire")
    p.add_argument("--format", choices=exports.FORMATS, help="format (défaut : d'après l'extension, sinon csv)")
    p.add_argument("-q", "--quiet", action="store_true", help="sans barre de progression ni résumé")
    p.set_defaults(run=cmd_export)
    p = sub.add_parser("verify", help="vérifie les sceaux et les chaînes de tous les dossiers d'une base",
                       description="Vérifie chaque dossier d'une base SQLite ou PostgreSQL et toute sa chaîne "
                                   "(instantané, journal, historique) : une ligne par problème (numéro : où : quoi) ; "
                                   "code 0 si tout est intact, 1 sinon.")
    add_db_option(p)
    add_key_option(p)
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("migrate", help="migre une base de l'ancien format (schéma 3) et la scelle",
                       description="Migration explicite d'une base écrite par la version précédente (historique dans "
                                   "le document, schéma 3) vers les instantanés scellés et le journal : chaque dossier "
                                   "est contrôlé (chaîne d'historique), scellé avec la clé, et journalisé ici. Tout ou "
                                   "rien. Sur une base déjà au format courant : recalcule les colonnes des listes de "
                                   "travail depuis chaque dossier vérifié (une transaction par dossier ; un dossier "
                                   "altéré arrête la commande). SQLite ou PostgreSQL.")
    add_db_option(p)
    add_key_option(p)
    p.set_defaults(run=cmd_migrate)

    add_delivery_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout
    try:
        with french_argparse():
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


if __name__ == "__main__":
    raise SystemExit(main())
