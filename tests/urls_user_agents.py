"""The demo URLconf plus a page that uses django-user-agents as its docs show:
``request.user_agent`` in the view, its filters in the template."""

from django.http import HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path
from django_user_agents.utils import get_and_set_user_agent

PAGE = (
    "{% load user_agents %}"
    "mobile={{ request|is_mobile }} pc={{ request|is_pc }} bot={{ request|is_bot }}"
)


def device_page(request):
    agent = get_and_set_user_agent(request)
    # Compiled here, not on import: the check tests import this URLconf
    # without django_user_agents installed, whose tag library it loads.
    text = Template(PAGE).render(RequestContext(request))
    return HttpResponse(f"{text} browser={request.user_agent.browser.family} os={agent.os.family}")


urlpatterns = [
    path("device/", device_page),
    path("", include("project.urls")),
]
