"""Immutable values of the domain (frozen ``attrs`` classes). Money is ``Decimal``; times are aware."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import attrs

from ._checks import ensure_str, require_bool, require_count, require_email, require_identifier, require_str, to_enum
from ._display import DRAWING
from ._frozen import travels
from .errors import InvalidInput
from .sniff import HEAD_BYTES, TAILLE_DEPASSEE, inspect, sniff_media_type
from .states import Status
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

__all__ = [
    "DEFAULT_LIMIT",
    "LIEN_PORTAIL",
    "SAS",
    "SOURCE_MONTANT_AVANCE_SAS",
    "Actor",
    "Attachment",
    "CoordonneesBancaires",
    "Corridor",
    "Demande",
    "Dossier",
    "EmailRecord",
    "Fournisseur",
    "HistoryEntry",
    "Paiement",
]

_CHUNK = 64 * 1024
#: The attachment size limit of the SAS corridor (« Taille maximum : 4 Mo », 1 Mo = 1024 × 1024 octets),
#: also what the attachment constructors inspect at most unless told otherwise.
DEFAULT_LIMIT = 4 * 1024 * 1024


def _frozen_map(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Store mappings read-only, so a frozen value stays frozen all the way down."""
    if isinstance(value, MappingProxyType):
        return value
    if type(value) is dict:  # the usual case, without the (slow) abstract-class check below
        return MappingProxyType(value.copy())
    if not isinstance(value, Mapping):
        raise InvalidInput("mapping", "un dictionnaire (Mapping)", value)
    return MappingProxyType(dict(value))


def _require_aware(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(attr.name, "une date avec fuseau horaire (datetime aware)", value)


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value)


_ROLE = to_enum("actor.role", Role, "un rôle")


def _to_role(value: object) -> Role:
    return _ROLE(value)


@attrs.frozen
class Actor:
    """Who issues a command. A provider's ``id`` is its ANS reference (``Fournisseur.ans_id``)."""

    role: Role = attrs.field(converter=_to_role)
    id: str = attrs.field(validator=require_identifier("actor.id"))

    def __attrs_post_init__(self) -> None:
        if not self.id.strip():
            raise InvalidInput("actor.id", "un identifiant non vide", self.id)


@attrs.frozen
class Attachment:
    """A file's metadata: the bytes themselves are the host's to store.

    Build it with :meth:`from_bytes`, :meth:`from_path` or :meth:`from_stream`; the media type is
    sniffed from the content, never taken from the name.
    """

    filename: str = attrs.field(validator=require_str("attachment.filename"))
    size: int = attrs.field(validator=require_count("attachment.size"))
    media_type: str = attrs.field(validator=require_identifier("attachment.media_type"))
    sha256: str = attrs.field(validator=require_identifier("attachment.sha256"))
    #: the content ends as its type must (PNG ``IEND``, JPEG ``EOI``, PDF ``%%EOF``); see :mod:`.sniff`
    complet: bool = attrs.field(default=True, validator=require_bool("attachment.complet"))
    #: what should not be in such a file (``pdf.javascript``, ``apres.rar``…: :data:`.sniff.CONSTATS`)
    marqueurs: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @classmethod
    def from_bytes(cls, filename: str, data: bytes | bytearray | memoryview, *,
                   limit: int | None = None) -> Attachment:
        """Describe ``data``: size, SHA-256, media type by content, completeness, findings.

        At most ``limit`` bytes (default :data:`DEFAULT_LIMIT`, the SAS corridor's 4 Mo) are
        inspected; a larger file is described by its first ``limit + 1`` bytes, not inspected, and
        marked :data:`~segur_workflow.sniff.TAILLE_DEPASSEE` (the rules refuse it as too large).
        A ``memoryview`` is read in place: only what is inspected is ever copied.
        """
        ensure_str("filename", filename)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInput("data", "des octets (bytes)", data)
        limit = _limit(limit)
        try:
            view = memoryview(data).cast("B")
        except TypeError:
            raise InvalidInput("data", "des octets contigus", data) from None
        if len(view) > limit:
            return cls._too_large(filename, view[: limit + 1])
        return cls._inspected(filename, data if isinstance(data, bytes) else view.tobytes())

    @classmethod
    def from_stream(cls, filename: str, stream: IO[bytes], *, limit: int | None = None) -> Attachment:
        """Read ``stream`` up to ``limit + 1`` bytes at most (default :data:`DEFAULT_LIMIT`).

        A longer stream is not read further: the attachment is described by those ``limit + 1``
        bytes and refused as too large by the rules. Otherwise the same as :meth:`from_bytes`.
        """
        ensure_str("filename", filename)
        limit = _limit(limit)
        buffer = bytearray()
        while len(buffer) <= limit:
            try:
                chunk = stream.read(min(_CHUNK, limit + 1 - len(buffer)))
            except AttributeError:
                raise InvalidInput("stream", "un flux binaire (read)", stream) from None
            if not chunk:
                break
            if not isinstance(chunk, bytes | bytearray):
                raise InvalidInput("stream", "un flux binaire", chunk)
            buffer += chunk
        if len(buffer) > limit:
            return cls._too_large(filename, memoryview(buffer))
        return cls._inspected(filename, bytes(buffer))

    @classmethod
    def from_path(cls, path: str | Path, *, limit: int | None = None) -> Attachment:
        """Open and read a file with :meth:`from_stream` (the name is the path's last part)."""
        p = Path(path)
        with p.open("rb") as fh:
            return cls.from_stream(p.name, fh, limit=limit)

    @classmethod
    def _inspected(cls, filename: str, raw: bytes) -> Attachment:
        facts = inspect(raw)
        return cls(filename=filename, size=len(raw), media_type=facts.media_type,
                   sha256=hashlib.sha256(raw).hexdigest(), complet=facts.complet, marqueurs=facts.marqueurs)

    @classmethod
    def _too_large(cls, filename: str, head: memoryview) -> Attachment:
        # Not inspected: what a reader stops at says nothing of the rest. The media type comes from the
        # first bytes only, so the extension check still names a disguised file.
        return cls(filename=filename, size=len(head), media_type=sniff_media_type(bytes(head[:HEAD_BYTES])),
                   sha256=hashlib.sha256(head).hexdigest(), complet=True, marqueurs=(TAILLE_DEPASSEE,))


def _limit(limit: object) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput("limit", "un nombre d'octets (entier positif)", limit)
    return limit


@attrs.frozen
class Fournisseur:
    """The SAS platform provider, as referenced by the ANS and enrolled on the portal."""

    ans_id: str = attrs.field(validator=require_identifier("fournisseur.ans_id"))
    siret: str = attrs.field(validator=require_identifier("fournisseur.siret"))
    raison_sociale: str = attrs.field(validator=require_identifier("fournisseur.raison_sociale"))
    adresse: str = attrs.field(validator=require_identifier("fournisseur.adresse"))
    email: str = attrs.field(validator=require_email("fournisseur.email"))
    enrole: bool = attrs.field(default=True, validator=require_bool("fournisseur.enrole"))
    reference: bool = attrs.field(default=True, validator=require_bool("fournisseur.reference"))


@attrs.frozen
class CoordonneesBancaires:
    iban: str = attrs.field(validator=require_identifier("coordonnees_bancaires.iban"))
    bic: str = attrs.field(validator=require_identifier("coordonnees_bancaires.bic"))
    titulaire: str = attrs.field(validator=require_identifier("coordonnees_bancaires.titulaire"))
    domiciliation: str = attrs.field(validator=require_identifier("coordonnees_bancaires.domiciliation"))


@travels
@attrs.frozen
class Corridor:
    """A funding corridor as data: everything the rules and the engine need to know about it."""

    code: str
    libelle: str
    prefixe_numero: str
    montant_avance: Decimal
    montant_solde: Decimal
    taux_tva: str
    pieces_avance: tuple[PieceKind, ...]
    pieces_solde: tuple[PieceKind, ...]
    max_attachment_bytes: int = DEFAULT_LIMIT
    #: extension (lower case, with the dot) -> media type it must sniff as
    allowed_types: Mapping[str, str] = attrs.field(
        default=MappingProxyType({".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                                  ".pdf": "application/pdf"}),
        converter=_frozen_map,
    )
    lien_assistance: str = "https://segurnum.asp-public.fr/segurnum/contacter-assistance"
    programme: str = "plateforme numérique Service d'Accès aux Soins"
    #: when set, only the gestionnaire a dossier is assigned to may instruct it (the transitions marked
    #: ``assigned_only`` in the definition); off by default: any gestionnaire instructs any dossier
    instruction_reservee: bool = attrs.field(default=False, validator=require_bool("instruction_reservee"))
    #: Where each amount comes from (a text, with its reference); ``None``: no source is known and the
    #: amount is a placeholder. See :meth:`avec_montant` and docs/decisions.md.
    source_montant_avance: str | None = attrs.field(default=None, validator=require_str("source_montant_avance",
                                                                                        optional=True))
    source_montant_solde: str | None = attrs.field(default=None, validator=require_str("source_montant_solde",
                                                                                       optional=True))

    def pieces(self, phase: Phase) -> tuple[PieceKind, ...]:
        return self.pieces_avance if phase is Phase.AVANCE else self.pieces_solde

    def montant(self, phase: Phase) -> Decimal:
        return self.montant_avance if phase is Phase.AVANCE else self.montant_solde

    def source_montant(self, phase: Phase) -> str | None:
        """Where the amount of ``phase`` comes from; ``None`` when it is a placeholder."""
        return self.source_montant_avance if phase is Phase.AVANCE else self.source_montant_solde

    def montant_provisoire(self, phase: Phase) -> bool:
        """Whether the amount of ``phase`` is a placeholder (no source known)."""
        return self.source_montant(phase) is None

    def avec_montant(self, phase: Phase, montant: Decimal, *, source: str) -> Corridor:
        """This corridor with the real amount of ``phase`` and where it comes from, e.g.
        ``SAS.avec_montant(Phase.SOLDE, Decimal("…"), source="Convention de financement n° …")``."""
        if not isinstance(montant, Decimal) or not montant.is_finite() or montant < 0:
            raise InvalidInput("montant", "un montant decimal.Decimal fini et positif", montant)
        if not isinstance(source, str) or not source.strip():
            raise InvalidInput("source", "la référence du montant (texte non vide)", source)
        if Phase(phase) is Phase.AVANCE:
            return attrs.evolve(self, montant_avance=montant, source_montant_avance=source)
        return attrs.evolve(self, montant_solde=montant, source_montant_solde=source)


#: The portal's public address, where « Se connecter » is (both guides).
LIEN_PORTAIL = "https://segurnum.asp-public.fr"

#: Where the SAS advance amount comes from: the deposit form of the advance guide.
SOURCE_MONTANT_AVANCE_SAS = (
    "Guide utilisateur fournisseur SAS « Dépôt d'une demande d'avance » (ASP, 15/05/2023), formulaire de dépôt : "
    "« 4 - Montant de l'avance : 30000 »"
)

#: The SAS corridor ("couloir SAS"). The guides give no balance amount: ``montant_solde`` is a
#: **placeholder** (``source_montant_solde`` is ``None``), an example equal to the advance that a host
#: replaces with ``SAS.avec_montant(Phase.SOLDE, …, source=…)``; see docs/decisions.md.
SAS = Corridor(
    code="SAS",
    libelle="Couloir SAS — fournisseurs de plateforme numérique SAS",
    prefixe_numero="FINSAS",
    montant_avance=Decimal("30000"),
    montant_solde=Decimal("30000"),
    taux_tva="HT - 0%",
    pieces_avance=(PieceKind.PV_MISE_EN_SERVICE, PieceKind.ATTESTATION_PROCURATION,
                   PieceKind.JUSTIFICATIF_TRANSMISSION),
    pieces_solde=(PieceKind.PV_VSR,),
    source_montant_avance=SOURCE_MONTANT_AVANCE_SAS,
    source_montant_solde=None,
)


@attrs.frozen
class Paiement:
    """A payment triggered by a decision (the ASP pays; we record that it was triggered)."""

    montant: Decimal
    declenche_le: datetime


def _blocs_a_instruire() -> Mapping[Bloc, Controle]:
    return MappingProxyType(dict.fromkeys(Bloc, Controle.A_INSTRUIRE))


@travels
@attrs.frozen
class Demande:
    """One phase's request (avance or solde): what was filed and how it is being instructed."""

    phase: Phase
    pieces: Mapping[PieceKind, Attachment] = attrs.field(converter=_frozen_map)
    montant: Decimal
    taux_tva: str
    date_depot: datetime
    contact_support: str | None = None
    controles: Mapping[Bloc, Controle] = attrs.field(factory=_blocs_a_instruire, converter=_frozen_map)
    paiement: Paiement | None = None


@travels
@attrs.frozen
class HistoryEntry:
    """One accepted command. ``hash`` chains it to the previous entry (see :mod:`.history`)."""

    at: datetime
    actor: Actor
    trigger: str
    source: Status | None
    dest: Status
    comment: str | None = None
    command_id: str | None = None
    details: Mapping[str, str] = attrs.field(factory=lambda: MappingProxyType({}), converter=_frozen_map)
    hash: str = ""


@attrs.frozen
class EmailRecord:
    """An e-mail sent about the dossier ("Courriels automatiques envoyés")."""

    at: datetime
    template: str
    subject: str
    to: str


@attrs.frozen
class Dossier:
    """A funding dossier. Never mutated: every accepted command returns a new one."""

    numero: str
    corridor: str
    fournisseur: Fournisseur
    coordonnees_bancaires: CoordonneesBancaires
    status: Status
    avance: Demande
    solde: Demande | None
    #: a tuple, or for a dossier read from an SQL repository a :class:`~segur_workflow.history.History`
    #: (read-only, equal to the tuple of its entries, whose earlier entries are read when first needed)
    history: Sequence[HistoryEntry]
    emails_sent: Sequence[EmailRecord]
    date_depot: datetime = attrs.field(validator=_require_aware)
    date_changement_statut: datetime = attrs.field(validator=_require_aware)
    piece_demandee: PieceKind | None = None
    demande_commentaire: str | None = None
    #: the gestionnaire the dossier is assigned to ("transmise pour instruction à un gestionnaire");
    #: ``None``: not assigned (no assignment policy, or an older stored dossier)
    gestionnaire: str | None = attrs.field(default=None, validator=require_identifier("gestionnaire", optional=True))

    # -- display in notebooks: the dossier machine with this dossier's path (IPython's protocol) ---
    # (the drawing is the diagrams', given to ``_display.DRAWING`` by the package)
    def _repr_svg_(self) -> str | None:
        return DRAWING.get().svg(self)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return {**DRAWING.get().bundle(self, include, exclude), "text/plain": repr(self)}

    @property
    def phase(self) -> Phase:
        return self.status.phase

    @property
    def demande_courante(self) -> Demande:
        """The request of the current phase (the solde once it is filed)."""
        return self.solde if self.solde is not None and self.phase is Phase.SOLDE else self.avance

    @property
    def total_paye(self) -> Decimal:
        return sum(
            (d.paiement.montant for d in (self.avance, self.solde) if d is not None and d.paiement),
            Decimal(0),
        )
