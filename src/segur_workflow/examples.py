"""Example values from the seeds (LE SELECT, tndSAS0032, FINSAS009250) and valid commands for any trigger.

Used by the demo, the docs, the benchmark and the QA kit. Pure: the dates are fixed, the files are
built in memory.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta

from ._email import Email
from .commands import (
    Command,
    Completer,
    ControlerBloc,
    Decider,
    DemanderModification,
    DemanderPiece,
    DeposerAvance,
    DeposerSolde,
    Reaffecter,
    Rejeter,
)
from .errors import InvalidInput
from .model import SAS, Actor, Attachment, CoordonneesBancaires, Corridor, Dossier, Fournisseur
from .states import COMPTE, DOSSIER, Status
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

__all__ = [
    "COORDONNEES", "FOURNISSEUR", "FOURNISSEUR_ACTOR", "GESTIONNAIRE", "GESTIONNAIRES", "IDENTIFIANT",
    "MOT_DE_PASSE", "MOT_DE_PASSE_PROVISOIRE", "NUMERO", "PATHS", "PORTAIL", "QUESTION_SECRETE", "SEL", "T0",
    "TITULAIRE_COMPTE", "attachment", "commands_to_fire", "compte_commands_to_fire", "creer_compte",
    "deposer_avance", "dossier_at", "example_email", "jpeg_bytes", "mot_de_passe_courant", "owner", "pdf_bytes",
    "pieces", "png_bytes",
]

#: 23/05/2023, the deposit date of the seed's acknowledgement e-mail (10:00 in Paris).
T0 = datetime(2023, 5, 23, 8, 0, tzinfo=UTC)

FOURNISSEUR = Fournisseur(
    ans_id="tndSAS0032",
    siret="39431067600017",
    raison_sociale="LE SELECT",
    adresse="184 av DU BOIS DE VERRIERES , 92160, ANTONY",
    email="contact@le-select.example",
)
COORDONNEES = CoordonneesBancaires(
    iban="FR7630006000011234567890189",
    bic="AGRIFRPP",
    titulaire="LE SELECT",
    domiciliation="CREDIT AGRICOLE ANTONY",
)
NUMERO = "FINSAS009250"
FOURNISSEUR_ACTOR = Actor(Role.FOURNISSEUR, FOURNISSEUR.ans_id)
GESTIONNAIRE = Actor(Role.GESTIONNAIRE, "gestionnaire.asp")
#: An instruction team (actor ids of gestionnaires), for assignment examples.
GESTIONNAIRES = ("gestionnaire.asp", "c.martin", "a.durand")


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A real, decodable grayscale PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg_bytes(width: int = 8, height: int = 8, shade: int = 128) -> bytes:
    """A real, decodable grayscale JPEG (encoded by Pillow, JFIF header)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), shade).save(out, format="JPEG", quality=85)
    return out.getvalue()


def pdf_bytes(text: str = "Ségur numérique") -> bytes:
    """A small, well-formed one-page PDF."""
    body = text.encode("latin-1", "replace").replace(b"(", b"").replace(b")", b"")
    stream = b"BT /F1 12 Tf 72 720 Td (" + body + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += str(i).encode() + b" 0 obj\n" + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\nstartxref\n"
    return out + str(xref).encode() + b"\n%%EOF\n"


def attachment(kind: PieceKind) -> Attachment:
    """A valid attachment for ``kind`` (a PDF named after the piece)."""
    return Attachment.from_bytes(f"{kind.value}.pdf", pdf_bytes(kind.label))


def pieces(phase: Phase, corridor: Corridor = SAS) -> dict[PieceKind, Attachment]:
    return {k: attachment(k) for k in corridor.pieces(phase)}


def deposer_avance(
    fournisseur: Fournisseur = FOURNISSEUR, corridor: Corridor = SAS, *, command_id: str | None = None
) -> DeposerAvance:
    return DeposerAvance(
        Actor(Role.FOURNISSEUR, fournisseur.ans_id), fournisseur, COORDONNEES,
        pieces(Phase.AVANCE, corridor), corridor.montant_avance, command_id=command_id,
    )


def owner(dossier: Dossier) -> Actor:
    return Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id)


def commands_to_fire(dossier: Dossier, trigger: str, corridor: Corridor = SAS) -> tuple[Command, ...]:
    """Commands that, applied in order to ``dossier``, end with ``trigger`` fired past its guards.

    Preparatory ``controler_bloc`` commands come first where the guard needs them (every bloc OK
    before ``decider``, a KO bloc before ``demander_modification``).
    """
    g = GESTIONNAIRE
    current = dossier.demande_courante.controles
    if trigger == "controler_bloc":
        return (ControlerBloc(g, Bloc.INFORMATIONS, Controle.OK),)
    if trigger == "decider":
        prep = tuple(ControlerBloc(g, b, Controle.OK) for b, c in current.items() if c is not Controle.OK)
        return (*prep, Decider(g))
    if trigger == "rejeter":
        return (Rejeter(g, "Pièces non conformes au cahier des charges."),)
    if trigger == "deposer_solde":
        return (DeposerSolde(owner(dossier), pieces(Phase.SOLDE, corridor),
                             "support@le-select.example — 01 23 45 67 89", corridor.montant_solde),)
    if trigger == "demander_modification":
        prep = () if Controle.KO in current.values() else (
            ControlerBloc(g, Bloc.PIECES_JUSTIFICATIVES, Controle.KO, "PV illisible"),)
        return (*prep, DemanderModification(g, "Le PV de VSR est illisible : merci de le déposer à nouveau."))
    if trigger == "demander_piece":
        return (DemanderPiece(g, corridor.pieces_solde[0], "Merci de joindre le PV de VSR signé."),)
    if trigger == "completer":
        wanted = dossier.piece_demandee or corridor.pieces_solde[0]
        return (Completer(owner(dossier), pieces={wanted: attachment(wanted)}),)
    if trigger == "reaffecter":
        other = next(n for n in GESTIONNAIRES if n != dossier.gestionnaire)
        return (Reaffecter(g, other, "Répartition de la charge de l'équipe."),)
    raise ValueError(f"pas d'exemple pour {trigger!r}")


#: A legal path (of triggers) from creation to each status.
PATHS: dict[Status, tuple[str, ...]] = {
    Status.AVANCE_EN_INSTRUCTION: (),
    Status.AVANCE_DECIDEE: ("decider",),
    Status.AVANCE_REJETEE: ("rejeter",),
    Status.SOLDE_EN_INSTRUCTION: ("decider", "deposer_solde"),
    Status.SOLDE_A_MODIFIER: ("decider", "deposer_solde", "demander_modification"),
    Status.SOLDE_EN_ATTENTE_PIECE: ("decider", "deposer_solde", "demander_piece"),
    Status.SOLDE_DECIDEE: ("decider", "deposer_solde", "decider"),
    Status.SOLDE_REJETEE: ("decider", "deposer_solde", "rejeter"),
}


def dossier_at(status: Status, *, numero: str = NUMERO, start_at: datetime = T0,
               step: timedelta = timedelta(hours=1), corridor: Corridor = SAS) -> Dossier:
    """A dossier brought to ``status`` by a legal path, one command per ``step`` from ``start_at``."""
    from .engine import handle, start  # the examples sit above the engine for callers, not for it

    now = start_at
    dossier = start(deposer_avance(corridor=corridor), numero=numero, now=now, corridor=corridor).dossier
    for trigger in PATHS[Status(status)]:
        for command in commands_to_fire(dossier, trigger, corridor):
            now += step
            dossier = handle(dossier, command, now=now, corridor=corridor).dossier
    return dossier


# -- the portal account (the compte machine) ----------------------------------------------------------------
#: The guide's login, the portal that creates accounts, and fixed example secrets (never real ones).
IDENTIFIANT = "test.ecomplementaire"
PORTAIL = Actor(Role.SYSTEME, "portail")
TITULAIRE_COMPTE = Actor(Role.FOURNISSEUR, IDENTIFIANT)
SEL = bytes(range(16))
MOT_DE_PASSE_PROVISOIRE = "Provisoire-2023"
MOT_DE_PASSE = "Nouveau.mdp1"
QUESTION_SECRETE = ("Ville de naissance ?", "Antony")


def creer_compte() -> Command:
    """The portal's ``CreerCompte`` of the example account (LE SELECT's address)."""
    from .compte import CreerCompte

    return CreerCompte(PORTAIL, IDENTIFIANT, MOT_DE_PASSE_PROVISOIRE, SEL, email=FOURNISSEUR.email)


def mot_de_passe_courant(compte: object) -> str:
    """The example account's password in clear, read from its history: the provisional one until a
    ``changer_mot_de_passe``, again after an ``oublier_mot_de_passe`` (the hash cannot be reversed)."""
    from .compte import Compte

    assert isinstance(compte, Compte)
    for entry in reversed(compte.history):
        if entry.trigger == "changer_mot_de_passe":
            return MOT_DE_PASSE
        if entry.trigger == "oublier_mot_de_passe":
            break
    return MOT_DE_PASSE_PROVISOIRE


def compte_commands_to_fire(compte: object, trigger: str) -> tuple[Command, ...]:
    """The example account's command that fires ``trigger`` from ``compte``'s status past its guards
    (the account counterpart of :func:`commands_to_fire`; secrets are :data:`SEL` and the constants above)."""
    from . import compte as c

    assert isinstance(compte, c.Compte)
    user, actuel = TITULAIRE_COMPTE, mot_de_passe_courant(compte)
    made: dict[str, Command] = {
        "premiere_connexion": c.PremiereConnexion(user, actuel),
        "changer_mot_de_passe": c.ChangerMotDePasse(user, actuel, MOT_DE_PASSE, MOT_DE_PASSE, SEL),
        "definir_question_secrete": c.DefinirQuestionSecrete(user, *QUESTION_SECRETE, SEL),
        "oublier_mot_de_passe": c.OublierMotDePasse(user, QUESTION_SECRETE[1], MOT_DE_PASSE_PROVISOIRE, SEL),
        "oublier_identifiant": c.OublierIdentifiant(PORTAIL, compte.email),
        "cloturer_compte": c.CloturerCompte(PORTAIL),
    }
    if trigger not in made:
        raise ValueError(f"pas d'exemple de compte pour {trigger!r}")
    return (made[trigger],)


def example_email(template: str) -> Email:
    """``template`` as the engine of its machine renders it on the examples: the dossier's mails on the
    example dossier (LE SELECT, FINSAS009250), the account's on the guide's login ``test.ecomplementaire``
    with LE SELECT's address, fixed salts and passwords. ``InvalidInput`` when no transition sends it."""
    from .engine import handle, start

    spec = next((t for t in DOSSIER.transitions if template in t.emails), None)
    if spec is None:
        if any(template in t.emails for t in COMPTE.transitions):
            return _compte_email(template)
        raise InvalidInput("template", "un modèle de courriel envoyé par une transition", template)
    if spec.creates:
        return start(deposer_avance(), numero=NUMERO, now=T0).emails[-1]
    dossier = dossier_at(Status(spec.sources[0]))
    now = dossier.date_changement_statut
    emails: tuple[Email, ...] = ()
    for command in commands_to_fire(dossier, spec.trigger):
        now += timedelta(hours=1)
        outcome = handle(dossier, command, now=now)
        dossier, emails = outcome.dossier, outcome.emails
    (email,) = emails
    return email


def _compte_email(template: str) -> Email:
    from . import compte as c

    user = Actor(Role.FOURNISSEUR, IDENTIFIANT)
    now, provisoire = T0, "Kp7;vX2m!q"
    out = c.handle_compte(None, c.CreerCompte(PORTAIL, user.id, provisoire, SEL, email=FOURNISSEUR.email), now=now)
    steps: list[Command] = [
        c.PremiereConnexion(user, provisoire), c.ChangerMotDePasse(user, provisoire, MOT_DE_PASSE, MOT_DE_PASSE, SEL),
        c.DefinirQuestionSecrete(user, *QUESTION_SECRETE, SEL), c.OublierIdentifiant(PORTAIL, FOURNISSEUR.email),
        c.OublierMotDePasse(user, QUESTION_SECRETE[1], provisoire, SEL),
    ]
    for command in steps:
        found = next((e for e in out.emails if e.template == template), None)
        if found is not None:
            return found
        now += timedelta(hours=1)
        out = c.handle_compte(out.compte, command, now=now)
    (found,) = (e for e in out.emails if e.template == template)
    return found
