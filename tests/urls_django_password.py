"""The demo's URLs, but Django's own PasswordChangeView, unaware of Trustgate."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("plain/password/change/", auth_views.PasswordChangeView.as_view()),
    path("", include("project.urls")),
]
