"""Local WhatsApp simulator: a fake Graph API, a phone page and the test fixture.

    python -m simulator --port 8081 --app-secret S --phone-number-id 1234567890 \\
        --webhook-url http://127.0.0.1:5005/webhooks/whatsapp/webhook [--access-token T]

Point the bot's ``WHATSAPP_API_URL`` at ``http://127.0.0.1:8081/v24.0`` and
open ``http://127.0.0.1:8081/`` for the phone page.

Fake Graph API (Meta-shaped)
    POST /{version}/{phone_number_id}/messages   text, interactive button/list, template,
                                                 media, and the read mark (+ typing indicator)
Control API (JSON)
    POST /_sim/send     {wa_id, text, profile_name?, wamid?}      signed text webhook to the bot
    POST /_sim/click    {wa_id, reply_id, title, kind: button|list, context_id?}
    POST /_sim/status   {message_id, status, code?, wa_id?}       signed status webhook
    POST /_sim/webhook?signature=valid|invalid|missing  body = any payload
    POST /_sim/verify   {verify_token?}                           Meta's GET handshake
    POST /_sim/fail     {count, status?, code?, delay_s?, wa_id?, applies_to?, retry_after?}
    POST /_sim/slow     {delay_s, count?, wa_id?, applies_to?}
    POST /_sim/reset    POST /_sim/config {webhook_url}
    GET  /_sim/messages?wa_id=&since=   /_sim/reads   /_sim/events   /_sim/attempts
    GET  /_sim/rules    /_sim/config    /_sim/health

Modules: ``signing`` (webhook payloads and their signature), ``graph``
(Meta's validation and error bodies), ``state`` (the in-memory record),
``app`` (the Starlette app), ``client`` (a small client for tests),
``process`` (run it as a child process, for fixtures).
"""
