"""Sites' own admin sites beside the default one.

``own_admin``: a SudoAdminSite instance whose content-type pages show
permissions inline, mounted twice. ``harmless_admin``: a SudoAdminSite
subclass with only models that hold no credential (the admin's log, content
types), a view of its own and a model admin with a view of its own.
"""

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse
from django.urls import include, path

from otp_flow.admin_site import SudoAdminSite

site = SudoAdminSite(name="own_admin")


class PermissionInline(admin.TabularInline):
    model = Permission
    extra = 0


@admin.register(ContentType, site=site)
class ContentTypeAdmin(admin.ModelAdmin):
    inlines = [PermissionInline]


def own_view(request):
    return HttpResponse("a view of the site's own")


class HarmlessSite(SudoAdminSite):
    def get_urls(self):
        return [path("stats/", self.admin_view(own_view)), *super().get_urls()]


harmless = HarmlessSite(name="harmless_admin")


@admin.register(LogEntry, site=harmless)
class LogEntryAdmin(admin.ModelAdmin):
    search_fields = ["object_repr"]
    autocomplete_fields = ["content_type"]
    actions = ["do_nothing"]

    @admin.action(description="Do nothing")
    def do_nothing(self, request, queryset):
        pass

    def get_urls(self):
        return [path("summary/", self.admin_site.admin_view(own_view)), *super().get_urls()]


@admin.register(ContentType, site=harmless)
class PlainContentTypeAdmin(admin.ModelAdmin):
    search_fields = ["app_label", "model"]
    ordering = ["app_label", "model"]

    def get_inlines(self, request, obj):
        # Trustgate's own content types show their permissions, chosen per object.
        return [PermissionInline] if obj is not None and obj.app_label == "trust" else []


urlpatterns = [
    path("own-admin/", site.urls),
    path("same-admin-elsewhere/", site.urls),
    path("harmless-admin/", harmless.urls),
    path("", include("project.urls")),
]
