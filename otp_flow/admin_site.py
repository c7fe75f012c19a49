"""The admin in sudo mode: a session that entered no code lately changes no credentials.

A staff session let in by a trusted device entered no code (password-only,
AAL1, docs/security.md R21). In a plain admin it could add an authenticator
with a key of its choosing, delete the user's own, set a new password, read
or mint an API token, give its own group every permission, and hold the
account for good (R38: the admin is no side door). ``SudoAdminSite`` sends a
session without a code entered within ``OTP_FLOW_SUDO_TIMEOUT`` to the code
page first, and back (``otp_flow.sudo``, as Trustgate's own sensitive pages
do), on:

- every page, GET included, of a model that holds or mints a credential or
  grants privileges (``otp_flow.credential_models.holds_credentials``: API
  tokens, second factors, the user model, groups and permissions, trusted
  devices, the security log, password throttles, the site's own named
  models ...), and of a model whose admin shows one of these inline;
- the autocomplete answers about such a model (the model is resolved from
  the query as Django's own view does; a query that names none asks);
- every delete page and every changelist action, whatever the model: a
  delete cascades, an action may do anything;
- any admin page that is not one of Django's own (a view a site or a
  ``ModelAdmin`` adds, a URL the site cannot place): fail closed;
- the admin's own password change.

A user with no second factor has no code to give and goes on.

Turn it on with ``"otp_flow.apps.SudoAdminConfig"`` in ``INSTALLED_APPS`` in
place of ``"django.contrib.admin"``: ``admin.site`` (and so every
``@admin.register``) is then this site. A site with an admin site class of
its own puts ``SudoAdminSite`` first among its bases.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import NoReverseMatch, reverse

from . import sudo
from .credential_models import holds_credentials, site_named_labels

ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponseBase])

# Pages of the site itself (below its root) that show no model's rows.
SITE_PAGES = frozenset({"", "logout/", "jsi18n/", "password_change/done/"})
# Django's own pages of a model admin, by the suffix of their URL names.
MODEL_PAGES = frozenset({"changelist", "add", "change", "history", "delete"})


class SudoAdminSite(admin.AdminSite):
    """An ``AdminSite`` that asks for a fresh code before credentials change."""

    def admin_view(self, view: ViewT, cacheable: bool = False) -> ViewT:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if self.needs_fresh_code(request) and not sudo.is_fresh(request):
                return sudo.ask_for_code(request)
            return view(request, *args, **kwargs)

        # Inside: the staff check (and CSRF) run first, so a signed-out visitor
        # is sent to the admin's login, not to the code page.
        return super().admin_view(cast(ViewT, guarded), cacheable)

    def password_change(  # type: ignore[override]  # a redirect, not only a page
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # SECURITY: a new password is a sensitive action (docs/security.md R20).
        if not sudo.is_fresh(request):
            return sudo.ask_for_code(request)
        return super().password_change(request, extra_context)

    def needs_fresh_code(self, request: HttpRequest) -> bool:
        """Does this request of an admin page need a code entered lately?"""
        try:
            root = reverse("admin:index", current_app=self.name)
        except NoReverseMatch:
            return True  # SECURITY: mounted without the admin's namespace: fail closed
        if not request.path.startswith(root):
            # SECURITY: served away from where the site is mounted (a second
            # mount, a view of the site's own wrapped with admin_view): which
            # model it touches is unknown, so it asks. Fail closed.
            return True
        below = request.path[len(root) :]
        if below in SITE_PAGES or below in self._app_index_pages():
            return False
        if below == "autocomplete/":
            return self._autocomplete_needs_code(request)
        if below.startswith("r/"):
            return self._view_on_site_needs_code(request)
        found = self._model_admin_of(below)
        if found is None:
            # SECURITY: not a page Django's admin has (a view the site added,
            # the 404 of a mistyped URL): fail closed.
            return True
        model_admin, at_changelist = found
        if self._admin_needs_code(model_admin, request):
            return True
        page = _model_page(request, model_admin)
        if page not in MODEL_PAGES - {"delete"}:
            # SECURITY: a view the ModelAdmin adds may show or do anything; a
            # delete cascades (onto credentials too), as delete_selected does.
            return True
        if page == "change" and self._object_inlines_need_code(model_admin, request):
            return True
        # SECURITY: an action does whatever its code does (a site's own may
        # reset a user's 2FA): each one run needs a fresh code.
        return at_changelist and request.method == "POST" and "action" in request.POST

    def _admin_needs_code(self, model_admin: admin.ModelAdmin, request: HttpRequest) -> bool:
        """Do the model admin's pages show a model the rule covers, its own or inline?"""
        named = site_named_labels()
        inlines = {*model_admin.inlines, *model_admin.get_inlines(request, None)}
        models = [model_admin.model, *(inline.model for inline in inlines)]
        return any(holds_credentials(model, named) for model in models)

    def _object_inlines_need_code(
        self, model_admin: admin.ModelAdmin, request: HttpRequest
    ) -> bool:
        """Does the change page show, for this object only, a covered model
        inline (``get_inlines(request, obj)`` may choose per object)?"""
        match = request.resolver_match
        object_id = match.kwargs.get("object_id") if match else None
        if not isinstance(object_id, str):
            return True
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None:
            return False  # Django answers that it does not exist
        named = site_named_labels()
        inlines = model_admin.get_inlines(request, obj)
        return any(holds_credentials(inline.model, named) for inline in inlines)

    def _model_needs_code(self, model: type[Model], request: HttpRequest) -> bool:
        """Does ``model`` need a code here: by the rule, or by its admin's inlines?"""
        if self.is_registered(model):
            return self._admin_needs_code(self.get_model_admin(model), request)
        return holds_credentials(model, site_named_labels())

    def _autocomplete_needs_code(self, request: HttpRequest) -> bool:
        """Autocomplete lists rows of the remote model of the field named in the
        query: it needs a code as that model's pages do."""
        remote = autocomplete_remote_model(request)
        if remote is None:
            return True  # SECURITY: names no model we can judge: fail closed
        return self._model_needs_code(remote, request)

    def _view_on_site_needs_code(self, request: HttpRequest) -> bool:
        """ "View on site" redirects to an object's own URL: as its model's pages."""
        match = request.resolver_match
        content_type_id = match.kwargs.get("content_type_id") if match else None
        try:
            model = ContentType.objects.get_for_id(int(str(content_type_id))).model_class()
        except (TypeError, ValueError, OverflowError, ObjectDoesNotExist):
            return True
        return model is None or self._model_needs_code(model, request)

    def registered_models(self) -> list[type[Model]]:
        """The models registered here (check otp_flow.W003 looks at them)."""
        return list(self._registry)

    def _app_index_pages(self) -> set[str]:
        return {f"{model._meta.app_label}/" for model in self._registry}

    def _model_admin_of(self, path: str) -> tuple[admin.ModelAdmin, bool] | None:
        """The model admin whose URLs (``<app_label>/<model_name>/...`` below
        the site's root) ``path`` is under, whatever view serves it, and
        whether it is the changelist itself."""
        app_label, _, rest = path.partition("/")
        model_name, slash, below = rest.partition("/")
        if not slash:
            return None
        for model, model_admin in self._registry.items():
            if (model._meta.app_label, model._meta.model_name) == (app_label, model_name):
                return model_admin, below == ""
        return None


def _model_page(request: HttpRequest, model_admin: admin.ModelAdmin) -> str | None:
    """Which of Django's own pages of ``model_admin`` serves the request
    (``"change"``...), from the URL's name; None for any other view."""
    match = request.resolver_match
    if match is None or not match.url_name:
        return None
    prefix = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    if not match.url_name.startswith(prefix):
        return None
    return match.url_name[len(prefix) :]


def autocomplete_remote_model(request: HttpRequest) -> type[Model] | None:
    """The model whose rows ``/admin/autocomplete/`` would list, resolved from
    ``app_label``, ``model_name`` and ``field_name`` as Django's
    ``AutocompleteJsonView.process_request`` does; None where it refuses."""
    try:
        source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
        field = source._meta.get_field(request.GET["field_name"])
        remote = field.remote_field.model  # type: ignore[union-attr]
    except (KeyError, LookupError, ValueError, FieldDoesNotExist, AttributeError):
        return None
    if not (isinstance(remote, type) and issubclass(remote, Model)):
        return None
    return remote
