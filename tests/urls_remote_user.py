"""The demo URLconf plus a state-changing view, for sign-ins made by a
middleware (RemoteUserMiddleware) rather than a login view."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

CALLS: list[str] = []


@csrf_exempt
def transfer(request):
    CALLS.append(request.user.get_username())
    return HttpResponse("done")


urlpatterns = [path("transfer/", transfer), path("", include("project.urls"))]
