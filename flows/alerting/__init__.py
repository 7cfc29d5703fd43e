"""Alert delivery: `revguard run alerts` reads `revguard.alerts` and hands each alert to
Alertmanager, signed webhooks and Slack-compatible hooks, recorded, retried, never doubled."""
