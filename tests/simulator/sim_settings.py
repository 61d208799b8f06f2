"""Settings the simulator under test runs with (shared by conftest and the tests)."""

APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "1234567890"
VERIFY_TOKEN = "test-verify-token"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
