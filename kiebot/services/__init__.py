"""Business rules: the wizard, quotes, starting generations. No aiogram, no HTTP here."""
