"""The demo URLconf plus django-otp's own ways of marking a session verified,
and pages that report what django-otp's user attributes say (sync and async)."""

import pickle

import django_otp
from django.contrib.auth import authenticate, login
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django_otp.models import Device
from django_otp.views import LoginView


@csrf_exempt
def recorded_device_login(request):
    """A login path that records a device id in django-otp's session key
    itself, as django-otp before 1.0 did (its import path) or a site's own
    code may (any string): the gate must read it as django-otp does."""
    user = authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse(status=400)
    login(request, user)
    request.session[django_otp.DEVICE_ID_SESSION_KEY] = request.POST["otp_device_id"]
    return HttpResponse("signed in")


@csrf_exempt
def site_verify(request):
    """A site's own page, later in a session: it checks a code its own way and
    tells django-otp, as django-otp documents (``django_otp.login``)."""
    device = django_otp.match_token(request.user, request.POST.get("otp_token", ""))
    if device is None:
        return HttpResponse("wrong code", status=400)
    django_otp.login(request, device)
    return HttpResponse("verified")


@csrf_exempt
def site_login_device(request):
    """A site's page calling ``django_otp.login()`` with whatever device a
    posted id names (hostile: another user's, an unconfirmed one, garbage)."""
    try:
        device = Device.from_persistent_id(request.POST["otp_device_id"])
    except AttributeError:  # django-otp, on a model that is no device
        device = None
    django_otp.login(request, device)
    return HttpResponse("done")


@csrf_exempt
def site_record_device(request):
    """A site's page writing django-otp's session key itself (any string)."""
    request.session[django_otp.DEVICE_ID_SESSION_KEY] = request.POST["otp_device_id"]
    return HttpResponse("recorded")


def _report(user, pickled: bytes) -> dict:
    restored = pickle.loads(pickled)
    return {
        "verified": user.is_verified(),
        "restored_verified": restored.is_verified(),
        "restored_username": restored.get_username(),
    }


def otp_status(request):
    user = request.user
    report = _report(user, pickle.dumps(user))
    report["device"] = user.otp_device.persistent_id if user.otp_device else None
    return JsonResponse(report)


async def aotp_status(request):
    user = await request.auser()
    return JsonResponse(_report(user, pickle.dumps(user)))


urlpatterns = [
    path("otp-login/", LoginView.as_view(template_name="registration/login.html")),
    path("recorded-device-login/", recorded_device_login),
    path("site-verify/", site_verify),
    path("site-login-device/", site_login_device),
    path("site-record-device/", site_record_device),
    path("otp-status/", otp_status),
    path("aotp-status/", aotp_status),
    path("", include("project.urls")),
]
