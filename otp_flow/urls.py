from __future__ import annotations

from django.urls import path

from . import manage_views, passkey_views, views

app_name = "otp_flow"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
    path("backup-codes/", manage_views.backup_codes, name="backup_codes"),
    path("disable/", manage_views.disable, name="disable"),
    path("replace/", manage_views.replace, name="replace"),
    # Passkeys (django-otp-webauthn; 404 where it is not installed).
    path("verify/passkey/options/", passkey_views.verify_options, name="passkey_verify_options"),
    path("verify/passkey/", passkey_views.verify, name="passkey_verify"),
    path("passkeys/", passkey_views.manage, name="passkeys"),
    path("passkeys/add/options/", passkey_views.register_options, name="passkey_add_options"),
    path("passkeys/add/", passkey_views.register, name="passkey_add"),
    path("passkeys/<int:pk>/remove/", passkey_views.remove, name="passkey_remove"),
    path("passkey-sign-in/options/", passkey_views.sign_in_options, name="passkey_sign_in_options"),
    path("passkey-sign-in/", passkey_views.sign_in, name="passkey_sign_in"),
]
