from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def home(request):
    return HttpResponse(f"Signed in as {request.user.get_username()}")


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("2fa/", include("otp_flow.urls")),
    path("devices/", include("trust.urls")),
]
