"""Signing in (with the lockout), signing out and changing one's password."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from puan.accounts.services import user_login
from puan.core.errors import AccountLocked, NotAuthenticated
from puan.web.forms import PageForm
from puan.web.http import message_of
from puan.web.views import home_for


class LoginForm(PageForm):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
        error_messages={"required": _("请输入用户名。")},
    )
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("请输入密码。")},
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """A wrong password counts towards the lockout (`user_login`); a locked account is
    refused, with the time it opens again, even with the right password."""
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = user_login(
                    username=form.cleaned_data["username"], password=form.cleaned_data["password"], request=request
                )
            except (AccountLocked, NotAuthenticated) as error:
                form.add_error(None, message_of(error))
                status = error.status
            else:
                login(request, user)
                return redirect(_next_url(request) or home_for(user))
        else:
            status = 422
    context = {
        "form": form,
        "next": _next_url(request),
        "lockout_threshold": settings.PUAN_LOCKOUT_THRESHOLD,
        "lockout_minutes": settings.PUAN_LOCKOUT_MINUTES,
    }
    return render(request, "accounts/login.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """POST only: a link (or an image tag on another site) must not sign anyone out."""
    logout(request)
    return redirect("accounts:login")


class ChangePasswordForm(PasswordChangeForm):
    """Django's form (old password checked, validators applied) with labels of our own."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("当前密码")
        self.fields["new_password1"].label = _("新密码")
        self.fields["new_password2"].label = _("再次输入新密码")
        self.fields["new_password1"].help_text = _("至少 8 位，不能全是数字，不能与用户名相似，不能是常见密码。")
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


@sensitive_post_parameters()
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            # Keep this session signed in; other sessions of the user end with the old hash.
            update_session_auth_hash(request, user)
            return render(request, "accounts/password_change.html", {"form": None, "done": gettext("密码已修改。")})
        return render(request, "accounts/password_change.html", {"form": form}, status=422)
    return render(request, "accounts/password_change.html", {"form": form})
