"""Actions that answer from the FAQ index."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import live_faq, thresholds
from bot.faq.content import FaqEntry
from bot.faq.decision import Decision, answer_message, button_title, choose_payload
from bot.settings import get_settings
from bot.signals import handover_signal

DomainDict = dict[str, Any]


def _response_text(domain: DomainDict, name: str, **values: str) -> str:
    text = domain["responses"][name][0]["text"]
    return text.format(**values) if values else text


def _entry(entry_id: str | None) -> FaqEntry | None:
    index = live_faq().index
    if not index or not entry_id:
        return None
    return next((entry for entry in index.entries if entry.id == entry_id), None)


def send_answer(dispatcher: CollectingDispatcher, entry: FaqEntry) -> list:
    dispatcher.utter_message(text=entry.reply_text)
    return [SlotSet("pending_faq", None)]


def send_clarify(dispatcher: CollectingDispatcher, domain: DomainDict, options) -> list:
    buttons = [{"title": button_title(entry), "payload": choose_payload(entry)} for entry in options]
    if len(options) == 1:
        text = _response_text(domain, "utter_clarify_one", question=options[0].question)
        buttons.append({"title": "Iets anders", "payload": "/deny"})
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("pending_faq", options[0].id)]
    lines = [_response_text(domain, "utter_clarify")]
    lines += [f"{number}. {entry.question}" for number, entry in enumerate(options, start=1)]
    dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
    return [SlotSet("pending_faq", None)]


def send_handover(dispatcher: CollectingDispatcher, domain: DomainDict, decision: Decision) -> list:
    if decision.reason == "privacy":
        labels = _privacy_labels(decision.privacy_kinds)
        dispatcher.utter_message(text=get_settings().privacy.reply.format(kinds=labels))
    else:
        dispatcher.utter_message(response="utter_handover_low_confidence")
    dispatcher.utter_message(json_message=handover_signal(decision.reason))
    return [SlotSet("pending_faq", None)]


def _privacy_labels(kinds) -> str:
    from bot.privacy import KIND_LABELS_NL

    return ", ".join(KIND_LABELS_NL.get(kind, kind) for kind in kinds)


class ActionAnswerFaq(Action):
    """Answer, ask which entry was meant, or hand over to a person."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list:
        index = live_faq().index
        if index is None:
            dispatcher.utter_message(response="utter_faq_unavailable")
            dispatcher.utter_message(json_message=handover_signal("low_confidence"))
            return []
        decision = answer_message(tracker.latest_message.get("text") or "", index, thresholds())
        if decision.kind == "answer":
            return send_answer(dispatcher, decision.entry)
        if decision.kind == "clarify":
            return send_clarify(dispatcher, domain, decision.options)
        return send_handover(dispatcher, domain, decision)


class ActionChooseFaq(Action):
    """The citizen tapped one of the clarifying buttons."""

    def name(self) -> str:
        return "action_choose_faq"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list:
        entry = _entry(next(tracker.get_latest_entity_values("faq_id"), None))
        if entry is None:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return []
        return send_answer(dispatcher, entry)


class ActionConfirmFaq(Action):
    """'ja' or 'nee' after a single-option clarifying question."""

    def name(self) -> str:
        return "action_confirm_faq"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list:
        entry = _entry(tracker.get_slot("pending_faq"))
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if entry is None:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return []
        if intent == "affirm":
            return send_answer(dispatcher, entry)
        dispatcher.utter_message(response="utter_rephrase")
        return [SlotSet("pending_faq", None)]
