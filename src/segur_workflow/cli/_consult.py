"""The commands that show things: ``demo``, ``diagram``, ``check``, ``emails``, ``show``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from .. import diagrams, rules
from ..emails import TEMPLATES
from ..engine import allowed_commands
from ..examples import example_email
from ..model import SAS, Actor, Attachment, Dossier
from ..recap import BlocView, recapitulatif
from ..screens import consultation_html, describe_entry, instruction_html
from ..states import DOSSIER
from ..vocabulary import PieceKind, Role
from ._common import PROG, CliError, clean, key_of, lines, load_dossier, title, why, write_output

__all__ = ["cmd_check", "cmd_demo", "cmd_diagram", "cmd_emails", "cmd_show", "show_text"]


# -- show ------------------------------------------------------------------------------------------
def _bloc(b: BlocView) -> list[str]:
    badge = f"  [{b.badge_label}]" if b.badge_label else ""
    out = [f"  {clean(b.titre)}{badge}"]
    out += lines([(x.libelle, x.valeur) for x in b.lignes], "    ") or ["    (aucun)"]
    return out


def show_text(dossier: Dossier) -> str:
    """The consultation screen of ``dossier`` as terminal text (recapitulatif, history, next actions)."""
    r = recapitulatif(dossier)
    out = title(f"Demande de financement {clean(r.numero)}")
    out += lines([(x.libelle, x.valeur) for x in r.lignes()]
                  + [("Gestionnaire en charge", dossier.gestionnaire or "non affecté")])
    for phase in r.phases:
        out += ["", *title(phase.titre, "-")]
        for b in phase.blocs:
            out += _bloc(b)
    out += ["", *title(r.courriels.titre, "-")]
    out += lines([(x.libelle, x.valeur) for x in r.courriels.lignes]) or ["  (aucun)"]
    out += ["", *title("Historique", "-")]
    for i, entry in enumerate(dossier.history, 1):
        e = describe_entry(entry)
        comment = f" « {clean(e.commentaire)} »" if e.commentaire else ""
        extra = "".join(f" ; {clean(p)}" for p in e.precisions)
        out.append(f"  {i:>2}. {e.quand}  {clean(e.qui)} : {e.quoi} ({e.statut}){extra}{comment}")
    out += ["", *title("Actions possibles maintenant", "-")]
    owner = Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id)
    for actor in (Actor(Role.GESTIONNAIRE, dossier.gestionnaire or "gestionnaire"), owner):
        possible = ", ".join(sorted(DOSSIER.labels[t] for t in allowed_commands(dossier, actor))) or "aucune"
        out.append(f"  {actor.role.label} : {possible}")
    return "\n".join(out) + "\n"


# -- commands --------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ..demo import run_demo

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


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    fmt = _format_of(args)
    highlight = None
    if args.output:
        suffix = Path(args.output).suffix.lower().lstrip(".")
        allowed = diagrams.RENDERERS[fmt].suffixes
        if suffix and suffix not in allowed:
            raise CliError(f"Le fichier {clean(args.output)} ne correspond pas au format {fmt} : utilisez "
                           + " ou ".join(f".{x}" for x in allowed) + " (ou --format).")
    if args.db is not None and args.dossier is None:
        raise CliError("--db sert à lire un dossier à mettre en évidence : indiquez aussi --dossier NUMERO.")
    if args.dossier is not None:
        if args.db is None:
            raise CliError("--dossier demande aussi --db BASE (la base où lire le dossier).")
        if args.machine != "dossier":
            raise CliError("--dossier ne s'applique qu'à la machine « dossier ».")
        highlight = load_dossier(args.db, args.dossier, key_of(args))
    result = diagrams.diagram(args.machine, fmt, highlight=highlight)
    if args.output:
        target = Path(args.output)
        try:
            if isinstance(result, bytes):
                target.write_bytes(result)
            else:
                target.write_text(result, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"Écriture impossible dans {target} : {why(exc)}") from exc
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


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    kind = PieceKind(args.piece) if args.piece else None
    refused = 0
    for name in args.files:
        path = Path(name)
        try:
            attachment = Attachment.from_path(path, limit=SAS.max_attachment_bytes + 1)
        except OSError as exc:
            refused += 1
            print(f"✘ {clean(name)} : fichier illisible ({why(exc)}).", file=out)
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


def cmd_emails(args: argparse.Namespace, out: TextIO) -> int:
    names = [args.template] if args.template else list(TEMPLATES)
    for i, name in enumerate(names):
        email = example_email(name)
        if i:
            print("", file=out)
        print("\n".join(title(f"Modèle {name}", "-")), file=out)
        print(f"À : {email.to}", file=out)
        print(f"Objet : {email.subject}", file=out)
        print("", file=out)
        print((email.html if args.html else email.text).rstrip("\n"), file=out)
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    dossier = load_dossier(args.db, args.numero, key_of(args))
    if not args.html:
        if args.output or args.gestionnaire:
            raise CliError("-o et --gestionnaire s'emploient avec --html.")
        out.write(show_text(dossier))
        return 0
    page = (instruction_html(dossier, Actor(Role.GESTIONNAIRE, args.gestionnaire)) if args.gestionnaire
            else consultation_html(dossier))
    if args.output:
        write_output(args.output, page)
    else:
        out.write(page)
    return 0


