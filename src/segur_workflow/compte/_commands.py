"""The account's commands: what the portal and a provider ask of a portal account."""

from __future__ import annotations

from typing import Any

import attrs

from .._checks import ensure_str, require_identifier, require_str
from .._secret import MIN_SALT
from ..commands import Command
from ..errors import InvalidInput

__all__ = ["ChangerMotDePasse", "CloturerCompte", "CreerCompte", "DefinirQuestionSecrete", "OublierIdentifiant",
           "OublierMotDePasse", "PremiereConnexion"]


def _salt(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bytes) or len(value) < MIN_SALT:
        raise InvalidInput("sel", f"au moins {MIN_SALT} octets aléatoires (os.urandom)", value)


@attrs.frozen
class CreerCompte(Command):
    """The portal creates the account and mails the login and a provisional password (host-generated)."""


    identifiant: str = attrs.field(validator=require_str("identifiant"))
    mot_de_passe_provisoire: str = attrs.field(validator=require_str("mot_de_passe_provisoire"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)
    #: the provider's address: the two mails (identifiant, then password) go there
    email: str = attrs.field(kw_only=True, validator=require_identifier("email"))


@attrs.frozen
class PremiereConnexion(Command):
    mot_de_passe: str = attrs.field(validator=require_str("mot_de_passe"), repr=False)


@attrs.frozen
class ChangerMotDePasse(Command):
    """The three fields of the portal's form: old, new, confirmation."""


    ancien_mot_de_passe: str = attrs.field(validator=require_str("ancien_mot_de_passe"), repr=False)
    nouveau_mot_de_passe: str = attrs.field(validator=require_str("nouveau_mot_de_passe"), repr=False)
    confirmation: str = attrs.field(validator=require_str("confirmation"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)


@attrs.frozen
class DefinirQuestionSecrete(Command):
    question: str = attrs.field(validator=require_str("question"))
    reponse: str = attrs.field(validator=require_str("reponse"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)


@attrs.frozen
class OublierMotDePasse(Command):
    """« J'ai oublié mon mot de passe »: the secret answer, and the new provisional password to mail."""


    reponse: str = attrs.field(validator=require_str("reponse"), repr=False)
    mot_de_passe_provisoire: str = attrs.field(validator=require_str("mot_de_passe_provisoire"), repr=False)
    sel: bytes = attrs.field(validator=_salt, repr=False)


@attrs.frozen
class OublierIdentifiant(Command):
    """« J'ai oublié mon identifiant »: whoever forgot it cannot log in, so the portal (``Role.SYSTEME``)
    fires it with the address typed on the form; the login is mailed to the account's address."""


    email: str = attrs.field(validator=require_str("email"))


@attrs.frozen
class CloturerCompte(Command):
    motif: str | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        ensure_str("motif", self.motif, optional=True)
