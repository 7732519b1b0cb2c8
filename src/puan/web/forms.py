"""The base of every page form."""

from __future__ import annotations

import secrets

from django import forms
from pydantic import BaseModel


class PageForm(forms.Form):
    """Labels without Django's ASCII colon (Chinese labels stand alone; a "：" after every
    label is noise), and Chinese error messages from the active language."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SubmitOnceForm(PageForm):
    """A form that files something (a report, an appeal) and must file it once: it carries
    a one-time key, which its view passes to `run_once` as the Idempotency-Key, so that a
    double click or a resend after a timeout answers as the first submission did."""

    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission", secrets.token_urlsafe(18))

    def submission_key(self) -> str | None:
        return self.cleaned_data.get("submission") or None

    def renew_key(self) -> None:
        """A fresh key for the form shown again: its next submission is a new one."""
        self.data = self.data.copy()
        self.data["submission"] = secrets.token_urlsafe(18)

    def fingerprint(self) -> Submitted:
        """What was sent, to tell a resend from a different submission under the same key."""
        data = self.data
        return Submitted(fields={k: data.getlist(k) for k in sorted(data) if k != "csrfmiddlewaretoken"})


class Submitted(BaseModel):
    fields: dict[str, list[str]]
