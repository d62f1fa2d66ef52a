"""The entry points, one per transport (``notify_webhook`` ... ``notify_sms``). Each module
declares its settings section and registers its notifier only when that section is
configured. Nothing connects at import time: a transport connects on its first delivery."""
