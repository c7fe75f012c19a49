"""The demo URLconf plus a second sign-in page: a ``LoginView`` subclass."""

from django.contrib.auth.views import LoginView
from django.urls import include, path


class PartnerLoginView(LoginView):
    """Another way in, as a site might add one (a partner portal, an API login)."""

    template_name = "registration/login.html"
    next_page = "/devices/"


urlpatterns = [
    path("partner/sign-in/", PartnerLoginView.as_view(), name="partner_login"),
    path("", include("project.urls")),
]
