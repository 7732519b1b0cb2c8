"""The base of every page form."""

from __future__ import annotations

from django import forms


class PageForm(forms.Form):
    """Labels without Django's ASCII colon (Chinese labels stand alone; a "：" after every
    label is noise), and Chinese error messages from the active language."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
