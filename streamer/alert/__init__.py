"""Alert stage: turns the detection engine's alert stream into notifications.

The stages and their order are written down in `streamer.alert.pipeline`; the outputs
(Alertmanager, PagerDuty, signed webhook) live in `streamer.alert.notify`.
"""
