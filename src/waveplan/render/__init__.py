"""Renderers: pure functions from analyses and runs to text, JSON, Mermaid and HTML strings.

Renderers never print, never read files and never import the runner or the history: the CLI
decides where their strings go.

Import each renderer from its module (``waveplan.render.text``, ``.json``, ``.mermaid``,
``.html``, ``.report``...): importing one does not load the others (Rich, for the text views).
"""
