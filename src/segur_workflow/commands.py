"""Commands: what an actor asks of a dossier. Frozen values; ``TRIGGER`` names the transition (see Command).

Constructing a command checks *types* only (an ``InvalidInput`` for a float amount, a non-string
comment…). Whether the *values* are acceptable is decided by the rules when the command is handled,
so that every problem is reported at once.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from ._checks import require_identifier, require_text, to_enum, typed
from ._frozen import travels
from .errors import InvalidInput
from .model import Actor, Attachment, CoordonneesBancaires, Fournisseur
from .vocabulary import Bloc, Controle, PieceKind

__all__ = [
    "COMMAND_ID", "EXEMPLE", "Command", "Completer", "ControlerBloc", "Decider", "DemanderModification",
    "DemanderPiece", "DeposerAvance", "DeposerSolde", "Reaffecter", "Rejeter",
]


#: The key of a field's example value in its attrs metadata (``attrs.field(metadata={EXEMPLE: "…"})``): the
#: examples, the docs and the QA kit's paths build a command of any trigger from its class, its binding and
#: these (``examples.example_command``), so a new command class carries its own examples.
EXEMPLE = "exemple"

_BLOC, _CONTROLE, _PIECE = to_enum("bloc", Bloc), to_enum("resultat", Controle), to_enum("piece", PieceKind)
_PIECE_KEY = to_enum("pieces (clé)", PieceKind)


def _to_bloc(value: object) -> Bloc:
    return _BLOC(value)


def _to_controle(value: object) -> Controle:
    return _CONTROLE(value)


def _to_piece(value: object) -> PieceKind:
    return _PIECE(value)


def _pieces(value: object) -> Mapping[PieceKind, Attachment]:
    if not isinstance(value, Mapping):
        raise InvalidInput("pieces", "un dictionnaire {PieceKind: Attachment}", value)
    out: dict[PieceKind, Attachment] = {}
    for key, att in value.items():
        kind = _PIECE_KEY(key)
        if not isinstance(att, Attachment):
            raise InvalidInput(f"pieces[{kind.value}]", "un Attachment", att)
        out[kind] = att
    return MappingProxyType(out)


def _money(name: str) -> Any:
    def check(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
        # float and str are refused on purpose: money is exact, and a decimal is an explicit choice.
        if not isinstance(value, Decimal):
            raise InvalidInput(name, "un montant decimal.Decimal", value)

    return check


#: A command id: 1 to 128 visible ASCII characters (no space, no control character). A host's UUID,
#: ULID or "portal-request-123" fits; an empty or whitespace id, which once silently swallowed every
#: later command, does not.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

COMMAND_ID = re.compile(r"[\x21-\x7e]{1,128}")


def _check_command_id(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or COMMAND_ID.fullmatch(value) is None:
        raise InvalidInput(
            "command_id",
            "None ou un identifiant de 1 à 128 caractères ASCII visibles, sans espace", value,
        )


def _canonical(value: object) -> object:
    """A JSON-ready view of a command's content, the same for equal commands whatever their origin."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        # normalised: Decimal("30000") and Decimal("30000.00") are the same amount
        return f"{value.normalize():f}" if value.is_finite() else str(value)
    if attrs.has(type(value)):
        return {f.name: _canonical(getattr(value, f.name)) for f in attrs.fields(type(value))}  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        return {str(_canonical(k)): _canonical(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    return value


@attrs.frozen
class Command:
    """Base of all commands: who asks, and an optional id that makes the command idempotent.

    ``TRIGGER``, the transition a command class fires, is its name in snake case (``DemanderPiece`` fires
    ``demander_piece``): the machine's binding ties the class to its rows, and refuses to be built when a
    class names no trigger of its definition.
    """

    TRIGGER: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TRIGGER" not in cls.__dict__:
            cls.TRIGGER = _CAMEL.sub("_", cls.__name__).lower()

    actor: Actor = attrs.field(validator=typed("actor", Actor, "un Actor"))
    command_id: str | None = attrs.field(default=None, kw_only=True, validator=_check_command_id)

    @property
    def trigger(self) -> str:
        return self.TRIGGER

    def digest(self) -> str:
        """SHA-256 of what the command asks (trigger and content; neither actor nor ``command_id``).

        Recorded with an applied ``command_id``: the same id sent again with other content is not a
        retry of the same command, and is refused instead of replayed.
        """
        content = {f.name: _canonical(getattr(self, f.name)) for f in attrs.fields(type(self))
                   if f.name not in {"actor", "command_id"}}
        text = json.dumps([self.TRIGGER, content], sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("ascii")).hexdigest()


@travels
@attrs.frozen
class DeposerAvance(Command):
    fournisseur: Fournisseur = attrs.field(validator=typed("fournisseur", Fournisseur, "un Fournisseur"))
    coordonnees_bancaires: CoordonneesBancaires = attrs.field(
        validator=typed("coordonnees_bancaires", CoordonneesBancaires, "des CoordonneesBancaires")
    )
    pieces: Mapping[PieceKind, Attachment] = attrs.field(converter=_pieces)
    montant: Decimal = attrs.field(validator=_money("montant"))


@attrs.frozen
class ControlerBloc(Command):
    bloc: Bloc = attrs.field(converter=_to_bloc)
    resultat: Controle = attrs.field(converter=_to_controle, metadata={EXEMPLE: Controle.OK})
    commentaire: str | None = attrs.field(default=None, validator=require_text("commentaire", optional=True))


@attrs.frozen
class Decider(Command):
    """Validates the phase under instruction: every bloc OK, the payment is triggered."""


@attrs.frozen
class Rejeter(Command):
    motif: str = attrs.field(validator=require_text("motif"),
                             metadata={EXEMPLE: "Pièces non conformes au cahier des charges."})


@attrs.frozen
class DemanderModification(Command):
    commentaire: str = attrs.field(validator=require_text("commentaire"), metadata={
        EXEMPLE: "Le PV de VSR est illisible : merci de le déposer à nouveau."})


@attrs.frozen
class DemanderPiece(Command):
    piece: PieceKind = attrs.field(converter=_to_piece)
    commentaire: str = attrs.field(validator=require_text("commentaire"),
                                   metadata={EXEMPLE: "Merci de joindre le PV de VSR signé."})


@travels
@attrs.frozen
class DeposerSolde(Command):
    pieces: Mapping[PieceKind, Attachment] = attrs.field(converter=_pieces)
    contact_support: str = attrs.field(validator=require_text("contact_support"))
    montant: Decimal = attrs.field(validator=_money("montant"))


@travels
@attrs.frozen
class Completer(Command):
    pieces: Mapping[PieceKind, Attachment] = attrs.field(factory=dict, converter=_pieces)
    contact_support: str | None = attrs.field(default=None,
                                              validator=require_text("contact_support", optional=True))


@attrs.frozen
class Reaffecter(Command):
    """Assign the dossier to another gestionnaire (``gestionnaire``: that gestionnaire's actor id)."""

    gestionnaire: str = attrs.field(validator=require_identifier("gestionnaire"))
    commentaire: str | None = attrs.field(
        default=None, validator=require_text("commentaire", optional=True),
        metadata={EXEMPLE: "Répartition de la charge de l'équipe."},
    )
