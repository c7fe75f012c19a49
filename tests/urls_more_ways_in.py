"""The demo URLconf plus ways in a site might add: an API that signs in and
answers with data in the same response, async views behind otp_required, and
login views that set cookies of their own."""

import json

from django.contrib.auth import authenticate, login
from django.contrib.auth.views import LoginView
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django_otp.decorators import otp_required


@csrf_exempt
def api_login(request):
    body = json.loads(request.body or b"{}")
    user = authenticate(request, username=body.get("username"), password=body.get("password"))
    if user is None:
        return JsonResponse({"error": "invalid_credentials"}, status=400)
    login(request, user)
    return JsonResponse({"username": user.get_username(), "secret_data": 42})


def _own_cookies(response):
    """What a login view of a site may set and clear beside Django's cookies."""
    response.set_cookie("remembered_username", "alice", samesite="Lax")
    response.delete_cookie("signed_out_notice")
    return response


class CookieLoginView(LoginView):
    def form_valid(self, form):
        return _own_cookies(super().form_valid(form))


@csrf_exempt
def api_cookie_login(request):
    return _own_cookies(api_login(request))


@otp_required
async def async_secret(request):
    user = await request.auser()
    return HttpResponse(f"async {user.get_username()}")


@otp_required
def sync_secret(request):
    return HttpResponse(f"sync {request.user.get_username()}")


urlpatterns = [
    path("api/login/", api_login),
    path("cookie-login/", CookieLoginView.as_view()),
    path("api/cookie-login/", api_cookie_login),
    path("async-secret/", async_secret),
    path("sync-secret/", sync_secret),
    path("", include("project.urls")),
]
