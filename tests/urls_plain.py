"""A page that only shows the username: the steady-state request measured."""

from django.http import HttpResponse
from django.urls import include, path


def whoami(request):
    return HttpResponse(request.user.get_username())


urlpatterns = [
    path("whoami/", whoami),
    path("", include("project.urls")),
]
