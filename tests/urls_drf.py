"""The demo's URLs (its /api/token/ among them) plus API views guarded by
trust.contrib.drf's permissions, as a site would write them."""

from django.urls import include, path
from rest_framework.authentication import (
    BasicAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trust.contrib.drf.permissions import IsVerified, RecentCode
from trust.contrib.drf.views import ObtainTokenView


class WhoAmI(APIView):
    """Answers with the DRF user and what request.trust says of the session."""

    authentication_classes = [SessionAuthentication, TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"username": request.user.get_username(), "trust": request.trust.method})


class Verified(WhoAmI):
    # The token first: a request with both a token and a session cookie is
    # the token's user for DRF.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsVerified]


class RecentCodeOnly(WhoAmI):
    permission_classes = [IsAuthenticated, RecentCode(minutes=5)]


class RecentCodeComposed(WhoAmI):
    # DRF's operators work with it (and drop the permissions' messages).
    permission_classes = [IsAuthenticated & RecentCode(minutes=5)]


class BasicVerified(WhoAmI):
    """HTTP Basic (DRF's default beside sessions): a password on every request."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [IsVerified]


urlpatterns = [
    path("api/me/", WhoAmI.as_view()),
    path("api/verified/", Verified.as_view()),
    path("api/recent-code/", RecentCodeOnly.as_view()),
    path("api/recent-code-composed/", RecentCodeComposed.as_view()),
    path("api/basic/", BasicVerified.as_view()),
    path("api/token-after-code/", ObtainTokenView.as_view(requires_code=True)),
    path("", include("project.urls")),
]
