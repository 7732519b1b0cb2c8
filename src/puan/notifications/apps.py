from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "puan.notifications"
    label = "notifications"
    verbose_name = "消息通知"

    def ready(self) -> None:
        # A misspelt PUAN_SMS_BACKEND must stop start-up, not surface at the first overdue case.
        from puan.notifications.sms import sms_backend_class

        sms_backend_class()
