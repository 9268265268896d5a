"""Why a diagram cannot be produced."""

from __future__ import annotations

from ..errors import WorkflowError

__all__ = ["DiagramError", "GraphvizFailed", "GraphvizMissing"]


class DiagramError(WorkflowError):
    """A diagram cannot be produced (unknown machine or format, highlight of the wrong kind, …)."""

    code = "diagramme.invalide"


class GraphvizMissing(DiagramError):
    """SVG/PNG needs Graphviz's ``dot`` command, which is not installed."""

    code = "diagramme.graphviz_absent"

    def __init__(self) -> None:
        super().__init__(
            "Graphviz est introuvable (commande « dot ») : installez le paquet Debian « graphviz » "
            "(apt-get install graphviz) pour produire du SVG ou du PNG, "
            "ou choisissez un format texte (mermaid, dot, scxml, plantuml)."
        )


class GraphvizFailed(DiagramError):
    """``dot`` ran but refused the input or failed."""

    code = "diagramme.graphviz_echec"

    def __init__(self, stderr: str) -> None:
        self.stderr = stderr
        first = stderr.strip().splitlines()[0] if stderr.strip() else "erreur inconnue"
        super().__init__(f"Graphviz a échoué : {first}")
