"""The guards of the portal account machine: the subject is a ``compte.Compte``; secrets are verified by
the pure functions of ``segur_workflow._secret``."""

from __future__ import annotations

from .._secret import normaliser_reponse, verifier_secret
from ._codes import OK, POLITIQUE_MOT_DE_PASSE, POLITIQUE_MOT_DE_PASSE_ACCENTS, Violations, violation
from ._framework import Rule, RuleContext
from ._password import MAX_PASSWORD, MAX_QUESTION, check_identifiant, check_password, check_question_secrete
from ._text_contact import EMAIL, MAX_CONTACT

__all__ = ["COMPTE_RULES"]


def _identifiant_compte(ctx: RuleContext) -> Violations:
    out = check_identifiant(ctx.command.identifiant)
    if not ctx.command.mot_de_passe_provisoire:
        out += (violation("mot_de_passe.requis"),)
    email = ctx.command.email
    if len(email) > MAX_CONTACT or not EMAIL.fullmatch(email):
        out += (violation("compte.email"),)
    return out


def _email_du_compte(ctx: RuleContext) -> Violations:
    # the address typed on « J'ai oublié mon identifiant »: the login is only ever sent to the account's own
    given, known = ctx.command.email.strip().casefold(), ctx.subject.email.casefold()
    return OK if given == known else (violation("compte.email_inconnu"),)


def _mot_de_passe_exact(ctx: RuleContext) -> Violations:
    champ = "ancien_mot_de_passe" if hasattr(ctx.command, "ancien_mot_de_passe") else "mot_de_passe"
    given = getattr(ctx.command, champ)
    if len(given) > MAX_PASSWORD or not verifier_secret(given, ctx.subject.mot_de_passe):
        return (violation("mot_de_passe.incorrect", champ=champ),)
    return OK


def _politique(ctx: RuleContext) -> Violations:
    c = ctx.command
    out = check_password(c.nouveau_mot_de_passe, identifiant=ctx.subject.identifiant)
    if c.confirmation != c.nouveau_mot_de_passe:
        out += (violation("mot_de_passe.confirmation"),)
    if c.nouveau_mot_de_passe == c.ancien_mot_de_passe:
        out += (violation("mot_de_passe.inchange"),)
    return out


def _question_secrete(ctx: RuleContext) -> Violations:
    return check_question_secrete(ctx.command.question, ctx.command.reponse)


def _reponse_secrete(ctx: RuleContext) -> Violations:
    c, compte = ctx.command, ctx.subject
    out: Violations = OK
    if not c.mot_de_passe_provisoire:
        out += (violation("mot_de_passe.requis"),)
    if (compte.reponse_secrete is None or len(c.reponse) > MAX_QUESTION
            or not verifier_secret(normaliser_reponse(c.reponse), compte.reponse_secrete)):
        out += (violation("reponse_secrete.incorrecte"),)
    return out


#: The account machine's named rules, in catalogue order.
COMPTE_RULES: tuple[Rule, ...] = (
    Rule("identifiant_compte", "L'identifiant et l'adresse électronique du compte sont bien formés et un mot de "
         "passe provisoire est fourni.", _identifiant_compte, ("identifiant.format", "mot_de_passe.requis",
                                                              "compte.email")),
    Rule("email_du_compte", "L'adresse électronique saisie est celle du compte.", _email_du_compte,
         ("compte.email_inconnu",)),
    Rule("mot_de_passe_exact", "Le mot de passe saisi est celui du compte.", _mot_de_passe_exact,
         ("mot_de_passe.incorrect",)),
    Rule("politique_mot_de_passe", "Le nouveau mot de passe respecte la politique du portail : « "
         + POLITIQUE_MOT_DE_PASSE + " " + POLITIQUE_MOT_DE_PASSE_ACCENTS + " »", _politique,
         ("mot_de_passe.trop_court", "mot_de_passe.trop_long", "mot_de_passe.chiffre",
          "mot_de_passe.caractere_special", "mot_de_passe.identifiant", "mot_de_passe.accents",
          "mot_de_passe.caracteres", "mot_de_passe.confirmation", "mot_de_passe.inchange")),
    Rule("question_secrete", "La question et la réponse secrètes sont renseignées.", _question_secrete,
         ("question_secrete.requise", "question_secrete.trop_longue", "reponse_secrete.requise",
          "reponse_secrete.trop_longue")),
    Rule("reponse_secrete", "La réponse secrète est exacte et un mot de passe provisoire est fourni.",
         _reponse_secrete, ("reponse_secrete.incorrecte", "mot_de_passe.requis")),
)
