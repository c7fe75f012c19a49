"""The demo URLconf plus an async page that reads the user as async views do."""

from django.http import HttpResponse
from django.urls import include, path


async def awhoami(request):
    user = await request.auser()
    verified = getattr(user, "is_verified", lambda: None)()
    return HttpResponse(f"{user.get_username()} {verified}")


urlpatterns = [
    path("awhoami/", awhoami),
    path("", include("project.urls")),
]
