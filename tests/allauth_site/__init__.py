"""A site that signs in with django-allauth's account app, Trustgate behind it.

``tests/test_allauth.py`` runs ``stories.py`` against these settings in a
pytest of its own: allauth's apps, middleware and models cannot be switched
on inside the main suite's process.
"""
