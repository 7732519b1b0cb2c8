from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.db import connection
from django.utils import timezone

from puan.accounts.models import ApiToken, PiiAccess, User
from puan.accounts.roles import Role
from puan.accounts.services import token_issue, user_create, user_login
from puan.accounts.tests.factories import PASSWORD, make_user
from puan.core.errors import AccountLocked, InvalidInput, NotAuthenticated

pytestmark = pytest.mark.django_db


def test_it_hashes_passwords_with_argon2(tree, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = make_user(Role.LEADER, unit=tree.district)
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user_login(username=user.username, password=PASSWORD) == user


def test_it_issues_a_token_for_the_right_password(tree, api):
    user = make_user(Role.DISPATCHER, unit=tree.district)
    response = api.post("/api/v1/auth/token", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("pua_") and body["expires_at"]
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    # Only the hash is stored.
    assert not ApiToken.objects.filter(key_hash=body["token"]).exists()


def test_it_refuses_a_wrong_password_with_401(tree, api):
    user = make_user(Role.DISPATCHER, unit=tree.district)
    response = api.post("/api/v1/auth/token", {"username": user.username, "password": "wrong"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert api.post("/api/v1/auth/token", {"username": "nobody", "password": "x"}).status_code == 401


def test_it_answers_bad_token_input_with_422_naming_the_field(api, db):
    response = api.post("/api/v1/auth/token", {"username": "someone"})
    assert response.status_code == 422
    assert response.json()["field"] == "password"
    response = api.client.post("/api/v1/auth/token", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)


def test_it_locks_an_account_after_repeated_failures(tree, settings):
    settings.PUAN_LOCKOUT_THRESHOLD = 3
    user = make_user(Role.DISPATCHER, unit=tree.district)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            user_login(username=user.username, password="wrong")
    with pytest.raises(AccountLocked):
        user_login(username=user.username, password="wrong")
    # The right password does not get through the lock…
    with pytest.raises(AccountLocked):
        user_login(username=user.username, password=PASSWORD)
    # …until it expires.
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert user_login(username=user.username, password=PASSWORD) == user


def test_it_reports_the_lock_through_the_api(tree, api, settings):
    settings.PUAN_LOCKOUT_THRESHOLD = 2
    user = make_user(Role.DISPATCHER, unit=tree.district)
    codes = [
        api.post("/api/v1/auth/token", {"username": user.username, "password": "x"}).json()["code"] for _ in range(3)
    ]
    assert codes == ["not_authenticated", "account_locked", "account_locked"]


def test_it_refuses_an_expired_token(tree, api):
    user = make_user(Role.DISPATCHER, unit=tree.district)
    token, record = token_issue(user=user)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    ApiToken.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_it_revokes_a_token(tree, api):
    user = make_user(Role.DISPATCHER, unit=tree.district)
    api.login_as(user)
    assert api.delete("/api/v1/auth/token").status_code == 204
    assert api.get("/api/v1/me").status_code == 401
    assert ApiToken.objects.get(user=user).revoked_at is not None


def test_it_refuses_requests_without_credentials(api, db):
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer pua_nonsense"}).status_code == 401


def test_it_describes_me_with_my_unit(tree, api):
    user = make_user(Role.GRID_WORKER, Role.VOLUNTEER, unit=tree.grid_a1, username="grid1")
    body = api.login_as(user).get("/api/v1/me").json()
    assert body["username"] == "grid1"
    assert body["roles"] == ["grid_worker", "volunteer"]
    unit = body["unit"]
    assert unit["id"] == tree.grid_a1.pk and unit["name"] == "深井社区第01网格" and unit["level"] == "grid"
    assert unit["path"] == ["黄埔区", "长洲街", "深井社区", "深井社区第01网格"]
    lon, lat = unit["centroid"]
    assert 113.40 < lon < 113.41 and 23.10 < lat < 23.11


def test_it_stores_personal_data_encrypted_with_a_blind_index(tree):
    user = make_user(Role.UNIT_HANDLER, unit=tree.community_a, phone="13812345678", id_number="11010519491231002X")
    with connection.cursor() as cur:
        cur.execute("SELECT phone, id_number FROM accounts_user WHERE id = %s", [user.pk])
        phone_raw, id_raw = cur.fetchone()
    assert "13812345678" not in phone_raw and "1101051949" not in id_raw
    reloaded = User.objects.get(pk=user.pk)
    assert reloaded.phone == "13812345678" and reloaded.id_number == "11010519491231002X"
    # The same number written differently finds the same person.
    other = make_user(Role.VOLUNTEER, phone="+86 138-1234-5678")
    assert other.phone_index == reloaded.phone_index != ""


def test_it_rejects_a_malformed_id_number(tree):
    with pytest.raises(InvalidInput) as err:
        user_create(
            username="x", password=PASSWORD, unit=tree.district, roles=["leader"], id_number="110105194912310021"
        )
    assert err.value.field == "id_number"


def test_it_masks_personal_data_and_audits_every_unmasked_view(tree, api):
    person = make_user(Role.GRID_WORKER, unit=tree.grid_a1, phone="13812345678", id_number="11010519491231002X")
    leader = make_user(Role.LEADER, unit=tree.district)
    masked = api.login_as(leader).get(f"/api/v1/users/{person.pk}").json()
    assert masked["phone"] == "138****5678"
    assert masked["id_number"] == "110***********002X"
    assert api.get(f"/api/v1/users/{person.pk}", {"reveal": "true"}).status_code == 403
    assert PiiAccess.objects.count() == 0

    handler = make_user(Role.UNIT_HANDLER, unit=tree.community_a)
    clear = api.login_as(handler).get(f"/api/v1/users/{person.pk}", {"reveal": "true"}).json()
    assert clear["phone"] == "13812345678" and clear["revealed"] is True
    audit = PiiAccess.objects.get()
    assert (audit.user, audit.subject_type, audit.subject_id) == (handler, "user", str(person.pk))
