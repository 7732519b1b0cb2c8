from django.apps import AppConfig


class WebConfig(AppConfig):
    """Shared pieces of the HTML pages: security headers, language, navigation, error
    pages and the message-catalogue compiler."""

    name = "puan.web"
    label = "web"
    verbose_name = "页面"
