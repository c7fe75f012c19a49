"""A site with the credential-holding apps the demo does not install:
django-rest-knox, simplejwt's token blacklist, allauth's account, MFA and
social accounts, each with the admin pages it registers.

``tests/test_credential_apps.py`` runs ``stories.py`` against these settings
in a pytest of its own: these apps cannot be switched on inside the main
suite's process.
"""
