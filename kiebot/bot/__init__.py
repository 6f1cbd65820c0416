"""The Telegram side: aiogram routers, keyboards, middlewares, texts. UI only."""
