"""Renderers: pure functions from analyses and runs to text, JSON, Mermaid and HTML strings.

Renderers never print, never read files and never import the runner or the history: the CLI
decides where their strings go.
"""

from __future__ import annotations

from waveplan.render.html import plan_html
from waveplan.render.json import plan_json, plan_to_dict
from waveplan.render.mermaid import plan_mermaid
from waveplan.render.text import plan_text

__all__ = ["plan_html", "plan_json", "plan_mermaid", "plan_text", "plan_to_dict"]
