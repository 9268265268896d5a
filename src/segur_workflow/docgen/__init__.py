"""Generated pages of the docs site, produced from the code.

``python -m segur_workflow.docgen`` writes them; ``--check`` writes nothing and fails (exit 1) listing
every stale page, so the test command catches a definition, rule or template changed without its docs.

Two kinds of output:

* whole files under ``docs/generated/`` (diagrams, the state/transition tables, the rules and e-mail
  catalogues, the DOT and SCXML sources for download);
* blocks inside hand-written pages, between ``<!-- docgen:NAME -->`` and ``<!-- /docgen -->``, so a
  page such as ``concepts.md`` embeds the current diagrams without a Markdown include extension.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from .. import diagrams, emails, examples
from ..model import Dossier
from ..states import DEFINITIONS, INITIAL, MachineDefinition, Status
from ..vocabulary import Role
from ._rules import rules_catalogue

__all__ = [
    "BLOCKS",
    "EXEMPLE",
    "EXEMPLE_STATUS",
    "GENERATED",
    "UnknownBlock",
    "colour_legend",
    "diagrams_page",
    "exemple",
    "expected",
    "files",
    "fill_blocks",
    "graphviz_block",
    "legend_table",
    "main",
    "mermaid_block",
    "rules_catalogue",
    "rules_used_table",
    "stale",
    "states_table",
    "transitions_page",
    "transitions_table",
    "write",
]

GENERATED = "generated"
#: File stem of the highlighted example dossier's diagrams.
EXEMPLE = "dossier-exemple"
_NOTICE = "<!-- Page générée par `python -m segur_workflow.docgen` : ne pas modifier à la main. -->\n\n"


def _cell(text: str) -> str:
    """Text inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def mermaid_block(machine: str) -> str:
    return f"```mermaid\n{diagrams.to_mermaid(machine)}```\n"


def _state_name(d: MachineDefinition, name: str) -> str:
    return "*(création)*" if name == INITIAL else f"`{name}`"


def states_table(d: MachineDefinition) -> str:
    lines = ["| état | libellé | phase | final | description |", "|---|---|---|---|---|"]
    for s in d.states:
        phase = diagrams.group_title(s.group) if s.group else "—"
        lines.append(f"| `{s.name}` | {_cell(s.label)} | {_cell(phase)} | {'oui' if s.final else 'non'} "
                     f"| {_cell(s.description)} |")
    return "\n".join(lines) + "\n"


def transitions_table(d: MachineDefinition) -> str:
    """One row per transition: its words and identifier, where it goes, who, its rules, what it sends.

    Five columns, so that the table fits the page's width at 1280 px without cutting words.
    """
    lines = ["| transition | depuis → vers | qui | gardes (dossier) et règles (commande) | courriels |",
             "|---|---|---|---|---|"]
    for t in d.transitions:
        sources = ", ".join(_state_name(d, s) for s in (t.sources or (INITIAL,)))
        dest = "*(inchangé)*" if t.dest is None else f"`{t.dest}`"
        rules_ = [f"garde `{g}`" for g in diagrams.gardes(t)] + [f"`{g}`" for g in diagrams.regles(t)]
        sends = [f"`{e}`" for e in t.emails]
        lines.append(f"| {_cell(t.libelle)}<br>`{t.trigger}` | {sources} → {dest} | {_cell(diagrams.role_label(t))} "
                     f"| {'<br>'.join(rules_) or '—'} | {'<br>'.join(sends) or '—'} |")
    return "\n".join(lines) + "\n"


def rules_used_table(d: MachineDefinition) -> str:
    used = list(dict.fromkeys(g for t in d.transitions for g in t.guards))
    lines = ["| règle | portée | ce qu'elle vérifie |", "|---|---|---|"]
    for name in used:
        scope = "garde (dossier)" if diagrams.rule_scope(name) == "dossier" else "commande"
        lines.append(f"| `{name}` | {scope} | {_cell(diagrams.rule_description(name))} |")
    return "\n".join(lines) + "\n"


#: The dossier whose path the diagrams page shows: the guides' FINSAS009250, stopped at « A modifier ».
EXEMPLE_STATUS = Status.SOLDE_A_MODIFIER


def exemple() -> Dossier:
    return examples.dossier_at(EXEMPLE_STATUS)


def graphviz_block(source: str, title: str) -> str:
    """A placeholder the docs build (scripts/mkdocs_hooks.py) replaces by the SVG Graphviz draws from ``source``."""
    return (f'<div class="sw-graphviz" data-source="{source}" role="img" aria-label="{_attr(title)}">'
            f'<p>Diagramme Graphviz : <a href="{source}">{source}</a></p></div>\n')


def _attr(text: str) -> str:
    return diagrams.html_escape(" ".join(text.split()))


def legend_table(d: MachineDefinition) -> str:
    """What each edge label stands for: the words on the diagram, the identifier behind them."""
    lines = ["| sur le diagramme | déclencheur | de → vers |", "|---|---|---|"]
    for src, t, dst in d.edges():
        lines.append(f"| {_cell(diagrams.edge_title(t))} | `{t.trigger}` | {_cell(_state_label(d, src))} "
                     f"→ {_cell(_state_label(d, dst))} |")
    return "\n".join(lines) + "\n"


def _state_label(d: MachineDefinition, name: str) -> str:
    if name == INITIAL:
        return "(création)"
    s = d.state(name)
    return f"{s.label} ({diagrams.group_title(s.group)})" if s.group else s.label


def colour_legend() -> str:
    """The colours of a highlighted path (:data:`diagrams.COULEURS`), as swatches."""
    rows = ["| couleur | sens |", "|---|---|"]
    for fill, border, meaning in diagrams.COULEURS.values():
        swatch = (f'<span class="sw-pastille" style="background:{fill};border-color:{border}"></span>')
        rows.append(f"| {swatch} | {_cell(meaning)} |")
    return "\n".join(rows) + "\n"


def diagrams_page() -> str:
    dossier = exemple()
    out = ["---", "hide:", "  - toc", "---", "", "# Diagrammes des machines", "", _NOTICE.strip(), "",
           "Dérivés de la définition unique (`segur_workflow.states`). Chaque flèche dit, avec les mots de la "
           "procédure, ce qui se passe, **qui** peut le faire (*propriétaire* : seulement le fournisseur du "
           "dossier), **si** (les gardes, qui ne regardent que le dossier), ce que le portail **vérifie** dans "
           "ce qui est déposé (les règles) et le **courriel** envoyé. Les identifiants (déclencheurs, règles, "
           "modèles de courriel) sont dans l'infobulle de chaque flèche du dessin Graphviz et dans la légende "
           "sous chaque diagramme.", "",
           "Ctrl + molette, double clic ou boutons **+ / -** pour zoomer, glisser pour se déplacer, "
           "**Ajuster** pour revenir à la vue entière. Voir [Diagrammes](../diagrams.md) pour les formats "
           "et où les ouvrir.", ""]
    for d in DEFINITIONS.values():
        out += [f"## {d.title}", "",
                f"Machine `{d.name}` — sources : [DOT]({d.name}.dot), [SCXML]({d.name}.scxml), "
                f"[Mermaid]({d.name}.mmd), [PlantUML]({d.name}.puml), [SVG]({d.name}.svg).", "",
                graphviz_block(f"{d.name}.dot", d.title),
                "Le même diagramme en Mermaid, tel que GitLab, GitHub ou un éditeur l'affichent :", "",
                mermaid_block(d.name),
                f"### Légende : {d.title}", "", legend_table(d)]
    out += ["## Parcours d'un dossier", "",
            f"Le dossier d'exemple **{dossier.numero}** (celui des guides), arrêté au statut "
            f"« {dossier.status.label} » de la {diagrams.group_title(dossier.status.phase.value).lower()} : "
            "chaque transition prise porte « ✔ étape n », son rang dans l'historique du dossier. "
            "En Python : `diagrams.to_dot(highlight=dossier)` ; en ligne de commande : "
            "`segur-workflow diagram --db FICHIER --dossier NUMERO -o parcours.svg`. Sources : "
            f"[DOT]({EXEMPLE}.dot), [Mermaid]({EXEMPLE}.mmd), [SVG]({EXEMPLE}.svg).", "",
            colour_legend(),
            graphviz_block(f"{EXEMPLE}.dot", f"Parcours du dossier {dossier.numero}"),
            "En Mermaid :", "",
            f"```mermaid\n{diagrams.to_mermaid(highlight=dossier)}```\n"]
    return "\n".join(out)


def transitions_page() -> str:
    out = ["---", "hide:", "  - toc", "---", "", "# États et transitions", "", _NOTICE.strip(), "",
           "Les *gardes* ne regardent que le dossier : elles décident si la commande est possible maintenant "
           "(`allowed_commands`). Les *règles* examinent ce que la commande apporte (pièces, montants, "
           "commentaires) et peuvent la refuser avec des anomalies détaillées.", ""]
    roles = ", ".join(f"`{r.value}` = {r.label}" for r in Role)
    out += [f"Rôles : {roles}.", ""]
    for d in DEFINITIONS.values():
        out += [f"## {d.title}", "", "### États", "", states_table(d), "### Transitions", "", transitions_table(d),
                "### Règles de ces transitions", "", rules_used_table(d)]
    return "\n".join(out)


def files() -> dict[str, str]:
    """Every generated file, by path relative to ``docs/``."""
    out = {
        f"{GENERATED}/diagrams.md": diagrams_page(),
        f"{GENERATED}/transitions.md": transitions_page(),
        f"{GENERATED}/rules.md": rules_catalogue(),
        f"{GENERATED}/emails.md": emails.catalogue_markdown(),
    }
    out[f"{GENERATED}/{EXEMPLE}.dot"] = diagrams.to_dot(highlight=exemple())
    out[f"{GENERATED}/{EXEMPLE}.mmd"] = diagrams.to_mermaid(highlight=exemple())
    for name in DEFINITIONS:
        out[f"{GENERATED}/{name}.dot"] = diagrams.to_dot(name)
        out[f"{GENERATED}/{name}.scxml"] = diagrams.to_scxml(name)
        out[f"{GENERATED}/{name}.mmd"] = diagrams.to_mermaid(name)
        out[f"{GENERATED}/{name}.puml"] = diagrams.to_plantuml(name)
    return out


#: Blocks embedded in hand-written pages: ``<!-- docgen:NAME -->`` … ``<!-- /docgen -->``.
BLOCKS: Mapping[str, Callable[[], str]] = {
    **{f"mermaid:{n}": partial(mermaid_block, n) for n in DEFINITIONS},
    **{f"transitions:{n}": partial(transitions_table, d) for n, d in DEFINITIONS.items()},
    **{f"etats:{n}": partial(states_table, d) for n, d in DEFINITIONS.items()},
}
_BLOCK = re.compile(r"(<!-- docgen:(?P<name>[\w:-]+) -->\n)(?P<body>.*?)(<!-- /docgen -->)", re.S)


class UnknownBlock(ValueError):
    pass


def fill_blocks(text: str) -> str:
    """``text`` with every docgen block replaced by its current content."""
    def one(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in BLOCKS:
            raise UnknownBlock(f"bloc docgen inconnu « {name} » (connus : {', '.join(BLOCKS)})")
        # blank lines around: Markdown must not read the content as part of the HTML comment's block
        return m.group(1) + "\n" + BLOCKS[name]() + "\n" + m.group(4)

    return _BLOCK.sub(one, text)


def expected(docs: Path) -> dict[Path, str]:
    """Every path docgen owns (whole files and pages with blocks) and the content it should have."""
    out = {docs / rel: text for rel, text in files().items()}
    for page in sorted(docs.rglob("*.md")):
        if GENERATED in page.relative_to(docs).parts:
            continue
        text = page.read_text(encoding="utf-8")
        if "<!-- docgen:" in text:
            out[page] = fill_blocks(text)
    return out


def stale(docs: Path) -> list[Path]:
    """Pages whose committed content differs from what the code generates (or that are missing)."""
    return [p for p, text in expected(docs).items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text]


def write(docs: Path) -> list[Path]:
    """Write every stale page; return those written."""
    changed = stale(docs)
    wanted = expected(docs)
    for p in changed:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(wanted[p], encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segur_workflow.docgen",
                                     description="Écrit (ou vérifie, --check) les pages générées de docs/.")
    parser.add_argument("--check", action="store_true", help="n'écrit rien ; échoue si une page est périmée")
    parser.add_argument("--docs", default="docs", help="dossier de la documentation (défaut : docs)")
    args = parser.parse_args(argv)
    docs = Path(args.docs)
    try:
        if args.check:
            old = stale(docs)
            if old:
                print("Pages générées périmées (lancez `python -m segur_workflow.docgen`) :", file=sys.stderr)
                for p in old:
                    print(f"  {p}", file=sys.stderr)
                return 1
            return 0
        for p in write(docs):
            print(f"écrit : {p}")
    except (UnknownBlock, OSError) as exc:
        print(f"docgen : {exc}", file=sys.stderr)
        return 2
    return 0

