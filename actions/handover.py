"""The citizen asks for a person."""
from __future__ import annotations

from rasa_sdk import Action

from bot.signals import handover_signal


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher, tracker, domain) -> list:
        dispatcher.utter_message(response="utter_handover_human")
        dispatcher.utter_message(json_message=handover_signal("ask_human"))
        return []
