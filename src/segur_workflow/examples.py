"""Example values from the seeds (LE SELECT, tndSAS0032, FINSAS009250) and valid commands for any trigger.

Used by the demo, the docs, the benchmark and the QA kit. Pure: the dates are fixed, the files are
built in memory.
"""

from __future__ import annotations

import enum
import io
import struct
import typing
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from ._email import Email
from ._graph import breadth_first, walk_to
from .binding import Binding
from .commands import EXEMPLE, Command, ControlerBloc, DeposerAvance
from .engine import DOSSIER_BINDING
from .errors import InvalidInput
from .model import SAS, Actor, Attachment, CoordonneesBancaires, Corridor, Dossier, Fournisseur
from .states import COMPTE, DOSSIER, INITIAL, MachineDefinition, Status, TransitionSpec
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

__all__ = [
    "COORDONNEES", "FOURNISSEUR", "FOURNISSEUR_ACTOR", "GESTIONNAIRE", "GESTIONNAIRES", "IDENTIFIANT",
    "MOT_DE_PASSE", "MOT_DE_PASSE_PROVISOIRE", "NUMERO", "OMIT", "PATHS", "PORTAIL", "QUESTION_SECRETE", "SEL",
    "SUPPORT", "T0", "TEXTE", "TITULAIRE_COMPTE", "attachment", "commands_to_fire", "compte_commands_to_fire",
    "creer_compte", "deposer_avance", "dossier_at", "example_command", "example_email", "jpeg_bytes",
    "mot_de_passe_courant", "owner", "paths_of", "pdf_bytes", "pieces", "png_bytes",
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
#: The support contact of the balance request.
SUPPORT = "support@le-select.example — 01 23 45 67 89"


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


# -- example commands of any trigger, derived from the definition and the binding ----------------------------
#: A field's value for the subject: ``(subject, phase, corridor, required) -> value`` (``OMIT``: leave it out).
_Value = Callable[[Any, Phase | None, Corridor, bool], object]
OMIT = object()
#: A text field without an example of its own (``commands.EXEMPLE``).
TEXTE = "Texte d'exemple."


def _row(binding: Binding[Any, Any], subject: Any, trigger: str) -> TransitionSpec:
    """The row ``trigger`` fires from ``subject``'s status (its first row, when none leaves it)."""
    rows = [t for t in binding.definition.transitions if t.trigger == trigger]
    if not rows or trigger not in binding.commands:
        raise ValueError(f"pas d'exemple pour {trigger!r}")
    here = None if subject is None else subject.status.value
    return next((t for t in rows if here in t.sources), rows[0])


def _phase(binding: Binding[Any, Any], spec: TransitionSpec, subject: Any) -> Phase | None:
    """The phase the row's pieces and amount belong to (the one of the state it leads to), for a dossier."""
    source = subject.status.value if subject is not None and subject.status.value in spec.sources else (
        spec.sources[0] if spec.sources else "")
    return getattr(binding.status(spec.target(source)), "phase", None)


def example_command(binding: Binding[Any, Any], subject: Any, trigger: str, *, actors: Mapping[Role, Actor],
                    values: Mapping[str, _Value], corridor: Corridor = SAS) -> Command:
    """A command of ``trigger``'s class (from the binding) for ``subject``, that gets past the guards looking
    at what it carries: the actor of the row's role (the subject's owner for a provider), each field its
    example (``commands.EXEMPLE`` in its metadata), else its value for the subject (``values``, by field
    name), else its default, else the first member of its enum or :data:`TEXTE`."""
    spec = _row(binding, subject, trigger)
    cls = binding.commands[trigger]
    hints = typing.get_type_hints(cls)
    phase = _phase(binding, spec, subject)
    fields: dict[str, object] = {}
    for field in attrs.fields(cls):
        required = field.default is attrs.NOTHING
        if field.name in ("actor", "command_id"):
            continue
        if EXEMPLE in field.metadata:
            fields[field.name] = field.metadata[EXEMPLE]
        elif field.name in values:
            value = values[field.name](subject, phase, corridor, required)
            if value is not OMIT:
                fields[field.name] = value
        elif not required:
            continue
        elif isinstance(hints[field.name], type) and issubclass(hints[field.name], enum.Enum):
            fields[field.name] = next(iter(hints[field.name]))
        elif hints[field.name] is str:
            fields[field.name] = TEXTE
        else:
            raise ValueError(f"pas d'exemple pour le champ {field.name!r} de {cls.__name__}")
    role = next(r for r in (Role.FOURNISSEUR, Role.GESTIONNAIRE, Role.SYSTEME) if r in spec.roles)
    actor = Actor(role, binding.owner(subject)) if role is Role.FOURNISSEUR and subject is not None else actors[role]
    made: Command = typing.cast(Any, cls)(actor=actor, **fields)  # the fields are the class's own, by name
    return made


def _pieces(dossier: Dossier | None, phase: Phase | None, corridor: Corridor, required: bool) -> object:
    if required:  # a deposit: every piece of its phase
        return pieces(phase or Phase.AVANCE, corridor)
    # a complement: the piece the gestionnaire asked for, or the phase's first
    wanted = (dossier.piece_demandee if dossier is not None else None) or corridor.pieces(phase or Phase.SOLDE)[0]
    return {wanted: attachment(wanted)}


def _autre_gestionnaire(dossier: Dossier | None, *_: object) -> str:
    return next(n for n in GESTIONNAIRES if dossier is None or n != dossier.gestionnaire)


#: The dossier's commands' fields whose example depends on the dossier or the corridor, by field name.
_DOSSIER_VALUES: Mapping[str, _Value] = MappingProxyType({
    "pieces": _pieces,
    "montant": lambda _d, phase, corridor, _r: corridor.montant(phase or Phase.AVANCE),
    "piece": lambda _d, phase, corridor, _r: corridor.pieces(phase or Phase.SOLDE)[0],
    "contact_support": lambda _d, _p, _c, required: SUPPORT if required else OMIT,
    "gestionnaire": _autre_gestionnaire,
    "fournisseur": lambda *_: FOURNISSEUR,
    "coordonnees_bancaires": lambda *_: COORDONNEES,
})

#: Who fires the dossier's rows when no dossier's owner is concerned.
_DOSSIER_ACTORS: Mapping[Role, Actor] = MappingProxyType({
    Role.FOURNISSEUR: FOURNISSEUR_ACTOR, Role.GESTIONNAIRE: GESTIONNAIRE, Role.SYSTEME: Actor(Role.SYSTEME, "asp")})

#: What brings a dossier to pass a guard that looks at the dossier alone (``scope="dossier"``), by guard.
_PREPARATIONS: Mapping[str, Callable[[Dossier], tuple[Command, ...]]] = MappingProxyType({
    "blocs_tous_ok": lambda d: tuple(ControlerBloc(GESTIONNAIRE, b, Controle.OK)
                                     for b, c in d.demande_courante.controles.items() if c is not Controle.OK),
    "bloc_ko": lambda d: () if Controle.KO in d.demande_courante.controles.values() else (
        ControlerBloc(GESTIONNAIRE, Bloc.PIECES_JUSTIFICATIVES, Controle.KO, "PV illisible"),),
})


def commands_to_fire(dossier: Dossier | None, trigger: str, corridor: Corridor = SAS, *,
                     binding: Binding[Any, Any] = DOSSIER_BINDING) -> tuple[Command, ...]:
    """Commands that, applied in order to ``dossier`` (``None``: before its creation), end with ``trigger``
    fired past its guards: the :func:`example_command` of its class, after what its dossier-level guards need
    (every bloc OK before ``decider``, a KO bloc before ``demander_modification``). ``binding``: the
    dossier's, or a host's copy with more triggers."""
    spec = _row(binding, dossier, trigger)
    prep = tuple(c for guard in spec.guards if guard in _PREPARATIONS and dossier is not None
                 for c in _PREPARATIONS[guard](dossier))
    return (*prep, example_command(binding, dossier, trigger, actors=_DOSSIER_ACTORS, values=_DOSSIER_VALUES,
                                   corridor=corridor))


def paths_of(definition: MachineDefinition) -> Mapping[str, tuple[str, ...]]:
    """A shortest legal path (of triggers) from creation to each state of ``definition``; ties go to the
    rows in the definition's order."""
    created = next(t for t in definition.transitions if t.creates).target(INITIAL)
    tree = breadth_first(created, lambda here: ((t.trigger, t.target(here)) for t in definition.outgoing(here)
                                                if not t.internal))
    return MappingProxyType({s: tuple(walk_to(tree, s)) for s in definition.state_names if s in tree})


#: A legal path (of triggers) from creation to each status.
PATHS: Mapping[Status, tuple[str, ...]] = MappingProxyType(
    {Status(s): path for s, path in paths_of(DOSSIER).items()})


def _walk(subject: Any, triggers: Iterable[str], commands: Callable[[Any, str], tuple[Command, ...]],
          fire: Callable[[Any, Command, datetime], Any], *, now: datetime, step: timedelta) -> tuple[Any, datetime]:
    for trigger in triggers:
        for command in commands(subject, trigger):
            now += step
            subject = fire(subject, command, now)
    return subject, now


def dossier_at(status: Status, *, numero: str = NUMERO, start_at: datetime = T0,
               step: timedelta = timedelta(hours=1), corridor: Corridor = SAS) -> Dossier:
    """A dossier brought to ``status`` by a legal path, one command per ``step`` from ``start_at``."""
    from .engine import handle, start  # the examples sit above the engine for callers, not for it

    dossier = start(deposer_avance(corridor=corridor), numero=numero, now=start_at, corridor=corridor).dossier
    reached: Dossier
    reached, _ = _walk(dossier, PATHS[Status(status)], lambda d, t: commands_to_fire(d, t, corridor),
                       lambda d, c, now: handle(d, c, now=now, corridor=corridor).dossier, now=start_at, step=step)
    return reached


# -- the portal account (the compte machine) ----------------------------------------------------------------
#: The guide's login, the portal that creates accounts, and fixed example secrets (never real ones).
IDENTIFIANT = "test.ecomplementaire"
PORTAIL = Actor(Role.SYSTEME, "portail")
TITULAIRE_COMPTE = Actor(Role.FOURNISSEUR, IDENTIFIANT)
SEL = bytes(range(16))
MOT_DE_PASSE_PROVISOIRE = "Kp7;vX2m!q"  # the e-mail catalogue's example (_templates.VARIABLES)
MOT_DE_PASSE = "Nouveau.mdp1"
QUESTION_SECRETE = ("Ville de naissance ?", "Antony")


def creer_compte() -> Command:
    """The portal's ``CreerCompte`` of the example account (LE SELECT's address)."""
    from .compte import CreerCompte

    return CreerCompte(PORTAIL, IDENTIFIANT, MOT_DE_PASSE_PROVISOIRE, SEL, email=FOURNISSEUR.email)


def mot_de_passe_courant(compte: object) -> str:
    """The example account's password in clear, read from its history: the provisional one until a command
    that sets a new one (``changer_mot_de_passe``), again after one that gives a provisional one
    (``oublier_mot_de_passe``); the hash cannot be reversed."""
    from .compte import COMPTE_BINDING, Compte

    assert isinstance(compte, Compte)
    for entry in reversed(compte.history):  # the last command that set a password, known by its class's fields
        fields = attrs.fields_dict(COMPTE_BINDING.commands[entry.trigger])
        if "nouveau_mot_de_passe" in fields:
            return MOT_DE_PASSE
        if "mot_de_passe_provisoire" in fields:
            break
    return MOT_DE_PASSE_PROVISOIRE


#: The account's commands' fields, by field name: the example secrets, the current password, the address.
_COMPTE_VALUES: Mapping[str, _Value] = MappingProxyType({
    "mot_de_passe": lambda compte, *_: mot_de_passe_courant(compte),
    "ancien_mot_de_passe": lambda compte, *_: mot_de_passe_courant(compte),
    "nouveau_mot_de_passe": lambda *_: MOT_DE_PASSE,
    "confirmation": lambda *_: MOT_DE_PASSE,
    "mot_de_passe_provisoire": lambda *_: MOT_DE_PASSE_PROVISOIRE,
    "question": lambda *_: QUESTION_SECRETE[0],
    "reponse": lambda *_: QUESTION_SECRETE[1],
    "sel": lambda *_: SEL,
    "email": lambda compte, *_: FOURNISSEUR.email if compte is None else compte.email,
    "identifiant": lambda *_: IDENTIFIANT,
})


def compte_commands_to_fire(compte: object, trigger: str) -> tuple[Command, ...]:
    """The example account's command that fires ``trigger`` from ``compte``'s status past its guards
    (the account counterpart of :func:`commands_to_fire`; secrets are :data:`SEL` and the constants above)."""
    from .compte import COMPTE_BINDING, Compte

    assert isinstance(compte, Compte)
    try:
        return (example_command(COMPTE_BINDING, compte, trigger, actors={Role.SYSTEME: PORTAIL},
                                values=_COMPTE_VALUES),)
    except ValueError:
        raise ValueError(f"pas d'exemple de compte pour {trigger!r}") from None


def example_email(template: str) -> Email:
    """``template`` as the engine of its machine renders it on the examples: the dossier's mails on the
    example dossier (LE SELECT, FINSAS009250), the account's on the guide's login ``test.ecomplementaire``
    with LE SELECT's address, fixed salts and passwords. ``InvalidInput`` when no transition sends it."""
    from .compte import handle_compte
    from .engine import handle, start

    spec = next((t for t in DOSSIER.transitions if template in t.emails), None)
    if spec is not None:
        emails = _sent(spec, start(deposer_avance(), numero=NUMERO, now=T0), paths_of(DOSSIER),
                       commands=commands_to_fire, fire=lambda d, c, now: handle(d, c, now=now),
                       subject_of=lambda out: out.dossier)
    elif (spec := next((t for t in COMPTE.transitions if template in t.emails), None)) is not None:
        emails = _sent(spec, handle_compte(None, creer_compte(), now=T0), paths_of(COMPTE),
                       commands=compte_commands_to_fire, fire=lambda a, c, now: handle_compte(a, c, now=now),
                       subject_of=lambda out: out.compte)
    else:
        raise InvalidInput("template", "un modèle de courriel envoyé par une transition", template)
    return next(e for e in emails if e.template == template)


def _sent(spec: TransitionSpec, created: Any, paths: Mapping[str, tuple[str, ...]], *,
          commands: Callable[[Any, str], tuple[Command, ...]], fire: Callable[[Any, Command, datetime], Any],
          subject_of: Callable[[Any], Any]) -> tuple[Email, ...]:
    """The e-mails sent when ``spec`` fires on the examples: at creation, or once its first source is reached
    by the shortest path, one hour a command."""
    if spec.creates:
        return tuple(created.emails)
    hour = timedelta(hours=1)
    subject, now = _walk(subject_of(created), paths[spec.sources[0]], commands,
                         lambda s, c, at: subject_of(fire(s, c, at)), now=T0, step=hour)
    emails: tuple[Email, ...] = ()
    for command in commands(subject, spec.trigger):
        now += hour
        outcome = fire(subject, command, now)
        subject, emails = subject_of(outcome), tuple(outcome.emails)
    return emails
