"""The portal account machine's engine: first login, new password, secret question, forgotten credentials.

Runs on :data:`~segur_workflow.states.COMPTE` exactly as the dossier engine runs on ``DOSSIER``:
resolve ``(status, trigger)`` through the definition, check the actor's role and ownership with the
engine's :func:`~segur_workflow.engine.permission_problem`, run every guard rule and report all
violations at once, then return a new frozen :class:`Compte`. Pure: no clock, no randomness — the
host passes ``now`` and the salts (``os.urandom(16)``) with each command that stores a secret.

Secrets are never stored in clear: :func:`hacher_secret` (scrypt) gives a :class:`Secret`,
:func:`verifier_secret` checks a candidate in constant time.

The portal's mails are rendered from the package's templates like the dossier's and returned in
:attr:`CompteOutcome.emails`: at creation two mails (« identifiant », then the provisional password,
as the guides say both are « préalablement transmis par mail »), « J'ai oublié mon identifiant » one
mail with the login, « J'ai oublié mon mot de passe » one mail with a new provisional password (which
must be changed at the next login; the secret question is kept, see docs/decisions.md).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from . import observation, rules
from ._checks import require_identifier, require_str
from .commands import Command
from .emails import Email, render
from .engine import _check_now, check_wiring, permission_problem
from .errors import InvalidInput, PermissionDenied, RuleViolations, TransitionNotAllowed
from .model import LIEN_PORTAIL, SAS, Actor
from .rules import POLITIQUE_MOT_DE_PASSE, POLITIQUE_MOT_DE_PASSE_ACCENTS
from .states import COMPTE, CompteStatus, TransitionSpec
from .vocabulary import Role

#: scrypt cost: N=2**14, r=8, p=1 uses 16 MiB and took about 0.15 s per hash on the (shared) dev
#: machine; the parameters are stored with each secret so a host can raise them later.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_SALT = 16


# -- secrets -------------------------------------------------------------------------------------------------
@attrs.frozen(repr=False)
class Secret:
    """A salted scrypt digest of a secret (hex strings) with its cost parameters."""

    sel: str
    empreinte: str
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    algorithme: str = "scrypt"

    def __repr__(self) -> str:  # a digest in logs helps nobody but an attacker
        return f"Secret(algorithme={self.algorithme!r}, n={self.n})"


def _digest(secret: str, sel: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8", "surrogatepass"), salt=sel, n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=32)


def hacher_secret(secret: str, *, sel: bytes, n: int = SCRYPT_N) -> Secret:
    """The :class:`Secret` of ``secret`` with the caller's random ``sel`` (at least 16 bytes)."""
    if not isinstance(secret, str):
        raise InvalidInput("secret", "une chaîne de caractères", secret)
    if not isinstance(sel, bytes) or len(sel) < MIN_SALT:
        raise InvalidInput("sel", f"au moins {MIN_SALT} octets aléatoires (os.urandom)", sel)
    return Secret(sel=sel.hex(), empreinte=_digest(secret, sel, n, SCRYPT_R, SCRYPT_P).hex(), n=n)


def verifier_secret(candidat: str, secret: Secret | None) -> bool:
    """Whether ``candidat`` is the secret behind ``secret`` (constant-time comparison)."""
    if secret is None or not isinstance(candidat, str) or secret.algorithme != "scrypt":
        return False
    try:
        got = _digest(candidat, bytes.fromhex(secret.sel), secret.n, secret.r, secret.p)
        return hmac.compare_digest(got, bytes.fromhex(secret.empreinte))
    except ValueError:  # a corrupt stored secret never matches
        return False


def normaliser_reponse(reponse: str) -> str:
    """A secret answer as it is hashed and compared: NFC, trimmed, blanks collapsed, case-folded."""
    return " ".join(unicodedata.normalize("NFC", reponse).split()).casefold()


# -- commands ------------------------------------------------------------------------------------------------
def _salt(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bytes) or len(value) < MIN_SALT:
        raise InvalidInput("sel", f"au moins {MIN_SALT} octets aléatoires (os.urandom)", value)


@attrs.frozen
class CreerCompte(Command):
    """The portal creates the account and mails the login and a provisional password (host-generated)."""

    TRIGGER: ClassVar[str] = "creer_compte"

    identifiant: str = attrs.field(validator=require_str("identifiant"))
    mot_de_passe_provisoire: str = attrs.field(validator=require_str("mot_de_passe_provisoire"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)
    #: the provider's address: the two mails (identifiant, then password) go there
    email: str = attrs.field(kw_only=True, validator=require_identifier("email"))


@attrs.frozen
class PremiereConnexion(Command):
    TRIGGER: ClassVar[str] = "premiere_connexion"

    mot_de_passe: str = attrs.field(validator=require_str("mot_de_passe"), repr=False)


@attrs.frozen
class ChangerMotDePasse(Command):
    """The three fields of the portal's form: old, new, confirmation."""

    TRIGGER: ClassVar[str] = "changer_mot_de_passe"

    ancien_mot_de_passe: str = attrs.field(validator=require_str("ancien_mot_de_passe"), repr=False)
    nouveau_mot_de_passe: str = attrs.field(validator=require_str("nouveau_mot_de_passe"), repr=False)
    confirmation: str = attrs.field(validator=require_str("confirmation"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)


@attrs.frozen
class DefinirQuestionSecrete(Command):
    TRIGGER: ClassVar[str] = "definir_question_secrete"

    question: str = attrs.field(validator=require_str("question"))
    reponse: str = attrs.field(validator=require_str("reponse"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)


@attrs.frozen
class OublierMotDePasse(Command):
    """« J'ai oublié mon mot de passe »: the secret answer, and the new provisional password to mail."""

    TRIGGER: ClassVar[str] = "oublier_mot_de_passe"

    reponse: str = attrs.field(validator=require_str("reponse"), repr=False)
    mot_de_passe_provisoire: str = attrs.field(validator=require_str("mot_de_passe_provisoire"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)


@attrs.frozen
class OublierIdentifiant(Command):
    """« J'ai oublié mon identifiant »: whoever forgot it cannot log in, so the portal (``Role.SYSTEME``)
    fires it with the address typed on the form; the login is mailed to the account's address."""

    TRIGGER: ClassVar[str] = "oublier_identifiant"

    email: str = attrs.field(validator=require_str("email"))


@attrs.frozen
class CloturerCompte(Command):
    TRIGGER: ClassVar[str] = "cloturer_compte"

    motif: str | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.motif is not None and not isinstance(self.motif, str):
            raise InvalidInput("motif", "une chaîne de caractères ou None", self.motif)


#: Every account command class, by trigger (checked against the definition below).
COMMANDES_COMPTE: Mapping[str, type[Command]] = MappingProxyType({
    c.TRIGGER: c for c in (CreerCompte, PremiereConnexion, ChangerMotDePasse, DefinirQuestionSecrete,
                           OublierMotDePasse, OublierIdentifiant, CloturerCompte)
})


# -- values --------------------------------------------------------------------------------------------------
@attrs.frozen
class CompteHistoryEntry:
    """One accepted account command (never a secret)."""

    at: datetime
    actor: Actor
    trigger: str
    source: CompteStatus | None
    dest: CompteStatus
    command_id: str | None = None


@attrs.frozen
class Compte:
    """A provider's portal account. ``identifiant`` is the login; a provider acts on it as
    ``Actor(Role.FOURNISSEUR, identifiant)``."""

    identifiant: str
    status: CompteStatus
    mot_de_passe: Secret = attrs.field(repr=False)
    history: tuple[CompteHistoryEntry, ...]
    date_creation: datetime
    date_changement_statut: datetime
    #: where the portal's mails go (identifiant, password, reminders)
    email: str
    question_secrete: str | None = None
    reponse_secrete: Secret | None = attrs.field(default=None, repr=False)


# -- events --------------------------------------------------------------------------------------------------
@attrs.frozen
class CompteEvent:
    identifiant: str
    at: datetime


@attrs.frozen
class StatutCompteChange(CompteEvent):
    trigger: str
    source: CompteStatus | None
    dest: CompteStatus


@attrs.frozen
class IdentifiantsATransmettre(CompteEvent):
    """The login and a provisional password were issued (creation, forgotten password); the rendered
    mails are in :attr:`CompteOutcome.emails`."""


@attrs.frozen
class IdentifiantRappele(CompteEvent):
    """The login was sent again (forgotten login); the rendered mail is in :attr:`CompteOutcome.emails`."""


@attrs.frozen
class CompteOutcome:
    """What an accepted account command produced: the new account, its events and the rendered e-mails
    to send (the transition's templates, in order; a provisional password is in one of them, in clear:
    hand it to the mailer, do not keep it)."""

    compte: Compte
    events: tuple[CompteEvent, ...]
    emails: tuple[Email, ...] = ()


# -- effects -------------------------------------------------------------------------------------------------
Effect = Callable[[Compte, Any], tuple[Mapping[str, Any], tuple[type[CompteEvent], ...]]]


def _changer(_c: Compte, cmd: ChangerMotDePasse) -> tuple[Mapping[str, Any], tuple[type[CompteEvent], ...]]:
    return {"mot_de_passe": hacher_secret(cmd.nouveau_mot_de_passe, sel=cmd.sel)}, ()


def _question(_c: Compte, cmd: DefinirQuestionSecrete) -> tuple[Mapping[str, Any], tuple[type[CompteEvent], ...]]:
    return {"question_secrete": cmd.question.strip(),
            "reponse_secrete": hacher_secret(normaliser_reponse(cmd.reponse), sel=cmd.sel)}, ()


def _oubli_mdp(_c: Compte, cmd: OublierMotDePasse) -> tuple[Mapping[str, Any], tuple[type[CompteEvent], ...]]:
    return {"mot_de_passe": hacher_secret(cmd.mot_de_passe_provisoire, sel=cmd.sel)}, (IdentifiantsATransmettre,)


def _oubli_id(_c: Compte, _cmd: OublierIdentifiant) -> tuple[Mapping[str, Any], tuple[type[CompteEvent], ...]]:
    return {}, (IdentifiantRappele,)


def _rien(_c: Compte, _cmd: Command) -> tuple[Mapping[str, Any], tuple[type[CompteEvent], ...]]:
    return {}, ()


_EFFECTS: Mapping[str, Effect] = MappingProxyType({
    "premiere_connexion": _rien,
    "changer_mot_de_passe": _changer,
    "definir_question_secrete": _question,
    "oublier_mot_de_passe": _oubli_mdp,
    "oublier_identifiant": _oubli_id,
    "cloturer_compte": _rien,
})


check_wiring(COMPTE, COMMANDES_COMPTE, _EFFECTS)


# -- the entry points ----------------------------------------------------------------------------------------
def commandes_permises(compte: Compte, actor: Actor) -> frozenset[str]:
    """Triggers ``actor`` may fire on ``compte`` now (role, ownership, status)."""
    if not isinstance(compte, Compte):
        raise InvalidInput("compte", "un Compte", compte)
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", "un Actor", actor)
    return frozenset(t.trigger for t in COMPTE.outgoing(compte.status.value)
                     if permission_problem(COMPTE, actor, t.trigger, compte.identifiant) is None)


def handle_compte(compte: Compte | None, command: Command, *, now: datetime) -> CompteOutcome:
    """Apply an account command. ``compte`` is ``None`` only for :class:`CreerCompte`.

    Checks types, permission (role, then ownership), status, then every guard rule of the transition
    (all violations together). Raises ``InvalidInput``, ``PermissionDenied``, ``TransitionNotAllowed``
    or ``RuleViolations``; the input account is never modified.
    """
    now = _check_now(now)
    if compte is not None and not isinstance(compte, Compte):
        raise InvalidInput("compte", "un Compte ou None", compte)
    if not isinstance(command, Command) or type(command) not in COMMANDES_COMPTE.values():
        raise InvalidInput("command", "une commande de compte (CreerCompte, PremiereConnexion, …)", command)
    trigger = command.TRIGGER
    owner = compte.identifiant if compte is not None else None
    problem = permission_problem(COMPTE, command.actor, trigger, owner)
    if problem is not None:
        raise PermissionDenied(command.actor.role.value, command.actor.id, trigger, problem)
    spec = COMPTE.resolve(compte.status.value if compte is not None else None, trigger)
    if spec is None or spec.creates != (compte is None):
        allowed = commandes_permises(compte, command.actor) if compte is not None else frozenset({"creer_compte"})
        raise TransitionNotAllowed(compte.status.value if compte is not None else None, trigger, allowed)
    violations = rules.run(spec.guards, rules.RuleContext(command=command, subject=compte))
    if compte is not None and compte.history and now < compte.history[-1].at:
        violations += (rules.violation("date.anterieure"),)
    if violations:
        observation.violations(COMPTE, trigger, violations)
        raise RuleViolations(violations, trigger=trigger)
    if compte is None:
        assert isinstance(command, CreerCompte)
        created = Compte(
            identifiant=command.identifiant, status=CompteStatus(spec.target("")),
            mot_de_passe=hacher_secret(command.mot_de_passe_provisoire, sel=command.sel), history=(),
            date_creation=now, date_changement_statut=now, email=command.email.strip(),
        )
        return _finish(None, created, spec, command, now=now, kinds=(IdentifiantsATransmettre,))
    updates, kinds = _EFFECTS[trigger](compte, command)
    return _finish(compte, attrs.evolve(compte, **updates), spec, command, now=now, kinds=kinds)


def _finish(before: Compte | None, after: Compte, spec: TransitionSpec, command: Command, *, now: datetime,
            kinds: tuple[type[CompteEvent], ...]) -> CompteOutcome:
    source = before.status if before is not None else None
    dest = CompteStatus(spec.target(source.value if source is not None else ""))
    entry = CompteHistoryEntry(at=now, actor=command.actor, trigger=spec.trigger, source=source, dest=dest,
                               command_id=command.command_id)
    changed = source is not dest
    after = attrs.evolve(after, status=dest, history=(*after.history, entry),
                         date_changement_statut=now if changed else after.date_changement_statut)
    events: tuple[CompteEvent, ...] = tuple(k(after.identifiant, now) for k in kinds)
    if changed:
        events += (StatutCompteChange(after.identifiant, now, spec.trigger, source, dest),)
    context = {
        "identifiant": after.identifiant,
        "mot_de_passe": getattr(command, "mot_de_passe_provisoire", None),  # only the mails that carry it use it
        "lien_portail": LIEN_PORTAIL,
        "lien_assistance": SAS.lien_assistance,
        "politique": POLITIQUE_MOT_DE_PASSE + "\n" + POLITIQUE_MOT_DE_PASSE_ACCENTS,
    }
    emails = tuple(render(name, to=after.email, context=context) for name in spec.emails)
    observation.transition(COMPTE, subject=after.identifiant, source=source, trigger=spec.trigger, target=dest,
                           history=before.history if before is not None else ())
    return CompteOutcome(compte=after, events=events, emails=emails)


def courriel_exemple(template: str) -> Email:
    """``template`` (an account mail) as the account engine renders it on an example account: the
    guide's login ``test.ecomplementaire``, LE SELECT's address, fixed example salts and passwords."""
    from . import examples

    portail, user = Actor(Role.SYSTEME, "portail"), Actor(Role.FOURNISSEUR, "test.ecomplementaire")
    sel, now = bytes(range(16)), examples.T0
    provisoire, nouveau = "Kp7;vX2m!q", "Nouveau.mdp1"
    out = handle_compte(None, CreerCompte(portail, user.id, provisoire, sel, email=examples.FOURNISSEUR.email), now=now)
    steps: list[Command] = [
        PremiereConnexion(user, provisoire), ChangerMotDePasse(user, provisoire, nouveau, nouveau, sel),
        DefinirQuestionSecrete(user, "Ville de naissance ?", "Antony", sel),
        OublierIdentifiant(portail, examples.FOURNISSEUR.email), OublierMotDePasse(user, "Antony", provisoire, sel),
    ]
    for command in steps:
        found = next((e for e in out.emails if e.template == template), None)
        if found is not None:
            return found
        now += timedelta(hours=1)
        out = handle_compte(out.compte, command, now=now)
    found = next((e for e in out.emails if e.template == template), None)
    if found is None:
        raise InvalidInput("template", "un modèle de courriel du compte", template)
    return found
