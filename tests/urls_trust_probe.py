"""The demo's URLs plus /probe/, which tells what ``request.trust`` says."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path

from project.urls import urlpatterns as demo


def probe(request):
    trust = request.trust
    return JsonResponse(
        {
            "method": trust.method,
            "verified": trust.verified,
            "phishing_resistant": trust.phishing_resistant,
            "is_verified": request.user.is_verified(),
        }
    )


urlpatterns = [path("probe/", probe), *demo]
