"""Takes' resources (icons, theme palettes, the desktop entry), installed as package data.

Read them through `app.resources`, never by path: the same code works from a checkout, an
editable install and a wheel.
"""
