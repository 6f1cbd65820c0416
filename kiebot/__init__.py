"""kiebot: a Telegram bot that sells and runs KIE.ai generation models."""
