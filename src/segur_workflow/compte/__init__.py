"""The portal account: first login, new password, secret question, forgotten credentials.

Runs on :data:`~segur_workflow.states.COMPTE` through the one engine, exactly as the dossier runs on
``DOSSIER``: resolve ``(status, command)``, check the actor's role and ownership, run every guard rule and
report all violations at once, then return a new frozen :class:`Compte` whose history is chained like a
dossier's. Pure: no clock, no randomness — the host passes ``now`` and the salts (``os.urandom(16)``) with
each command that stores a secret.

Secrets are never stored in clear: :func:`hacher_secret` (scrypt) gives a :class:`Secret`,
:func:`verifier_secret` checks a candidate in constant time.

The portal's mails are rendered from the package's templates like the dossier's and returned in
:attr:`CompteOutcome.emails`: at creation two mails (« identifiant », then the provisional password,
as the guides say both are « préalablement transmis par mail »), « J'ai oublié mon identifiant » one
mail with the login, « J'ai oublié mon mot de passe » one mail with a new provisional password (which
must be changed at the next login; the secret question is kept, see docs/decisions.md).
"""

from .._secret import MIN_SALT, SCRYPT_N, SCRYPT_P, SCRYPT_R, Secret, hacher_secret, normaliser_reponse, verifier_secret
from ._commands import (
    ChangerMotDePasse,
    CloturerCompte,
    CreerCompte,
    DefinirQuestionSecrete,
    OublierIdentifiant,
    OublierMotDePasse,
    PremiereConnexion,
)
from ._engine import COMPTE_BINDING, commandes_permises, email_context, handle_compte
from ._model import (
    Compte,
    CompteEvent,
    CompteHistoryEntry,
    CompteOutcome,
    IdentifiantRappele,
    IdentifiantsATransmettre,
    StatutCompteChange,
)

__all__ = [
    "COMPTE_BINDING", "MIN_SALT", "SCRYPT_N", "SCRYPT_P", "SCRYPT_R", "ChangerMotDePasse", "CloturerCompte",
    "Compte", "CompteEvent", "CompteHistoryEntry", "CompteOutcome", "CreerCompte", "DefinirQuestionSecrete",
    "IdentifiantRappele", "IdentifiantsATransmettre", "OublierIdentifiant", "OublierMotDePasse",
    "PremiereConnexion", "Secret", "StatutCompteChange", "commandes_permises",
    "email_context", "hacher_secret", "handle_compte", "normaliser_reponse", "verifier_secret",
]
