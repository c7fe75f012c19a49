"""A page that only shows the username: the steady-state request measured."""

from django.http import HttpResponse
from django.urls import include, path


def whoami(request):
    return HttpResponse(request.user.get_username())


def ping(request):
    return HttpResponse("pong")


urlpatterns = [
    path("whoami/", whoami),
    path("ping/", ping),
    path("", include("project.urls")),
]
