"""Django REST framework, behind the gate (``pip install trustgate[drf]``).

- ``views.ObtainTokenView``: a DRF token for a session that passed the gate,
  never for a password alone (``as_view(requires_code=True)``: only after a
  code entered in the session).
- ``permissions.IsVerified`` and ``permissions.RecentCode``: what
  ``request.trust`` says, for requests whose DRF user is the session's user.

A request authenticated by a token (or HTTP Basic) has no session:
``request.trust`` then says "not signed in" and both permissions refuse it.
A token minted by ``ObtainTokenView`` is as strong as the session that
minted it was; DRF's ``IsAuthenticated`` is the check for token requests.
"""
