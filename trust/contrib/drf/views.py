"""A DRF token for a session that passed the gate, never for a password alone."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .permissions import PassedGate


class ObtainTokenView(APIView):
    """``POST``: ``{"token": "..."}``, the user's DRF token (made if missing).

    Route it in place of ``rest_framework.authtoken.views.obtain_auth_token``.
    A session qualifies with a code or a trusted device;
    ``ObtainTokenView.as_view(requires_code=True)`` takes only a session that
    entered a code.
    """

    requires_code = False

    # SECURITY: the session is the only way in (with DRF's CSRF check): a
    # token from HTTP Basic or from another token would skip the gate again.
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated, PassedGate]
    renderer_classes = [JSONRenderer]
    throttle_classes: list[Any] = []

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        token, _created = Token.objects.get_or_create(user=request.user)
        return Response({"token": token.key})


obtain_token = ObtainTokenView.as_view()
