"""A site's own admin site beside the default one: a SudoAdminSite instance
whose content-type pages show permissions inline, mounted twice."""

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import include, path

from otp_flow.admin_site import SudoAdminSite

site = SudoAdminSite(name="own_admin")


class PermissionInline(admin.TabularInline):
    model = Permission
    extra = 0


@admin.register(ContentType, site=site)
class ContentTypeAdmin(admin.ModelAdmin):
    inlines = [PermissionInline]


urlpatterns = [
    path("own-admin/", site.urls),
    path("same-admin-elsewhere/", site.urls),
    path("", include("project.urls")),
]
