## Balance and movements
balance-movements = <b>Latest movements</b>
movement-line = { DATETIME($when, dateStyle: "short", timeStyle: "short") } · { $what } · { $amount } 💎
movement-none = No movements yet.
balance-referral = 👥 Invite friends with your link — you both get { $bonus } 💎 when they first top up:
    { $link }
ledger-kind-bonus = welcome bonus
ledger-kind-grant = from the operator
ledger-kind-topup = top-up
ledger-kind-hold = held for a generation
ledger-kind-charge = generation paid
ledger-kind-release = returned
ledger-kind-refund = payment refunded
ledger-kind-refund_undo = refund cancelled
ledger-kind-promo = promo code
ledger-kind-free = free try used
ledger-kind-free_back = free try returned
ledger-kind-referral = referral bonus
balance-after = Balance: <b>{ $balance } 💎</b>.
low-balance = ⚠️ Your balance is low: { $balance } 💎. Top up with /topup to keep creating.

## Top-ups with Telegram Stars
btn-topup = ⭐ Top up
topup-title = Choose a package. You pay with Telegram Stars; the 💎 arrive right after the payment.
topup-package = { $stars } ⭐ → { $credits } 💎
btn-topup-for = ⭐ Top up { $credits } 💎 for { $stars } ⭐
invoice-title = { $credits } 💎
invoice-description = { $credits } 💎 to spend on generations in this bot.
topup-shortfall = You are { $shortfall } 💎 short. The smallest package that covers it:
topup-too-much = You are { $shortfall } 💎 short, more than the largest package. Top up several times with /topup, or change the parameters.
payment-receipt = ✅ Payment received: { $stars } ⭐ → { $credits } 💎.
    Balance: <b>{ $balance } 💎</b>.
payment-form-open = Your form is still open — here it is with the new balance:
referral-reward = 🎁 Referral bonus: { $bonus } 💎 for a friend's first top-up. Balance: <b>{ $balance } 💎</b>.
refunded-outside = ↩️ A payment of { $stars } ⭐ was refunded: { $debited } 💎 were taken from your balance.
    Balance: <b>{ $balance } 💎</b>.
decline-unknown-user = Please open the bot with /start first, then pay.
decline-banned = Payments from this account are not accepted.
decline-unknown-package = This package is not sold any more. Open /topup and choose again.
decline-package-changed = The package has changed since this invoice. Open /topup and choose again.
decline-wrong-currency = This invoice is not in Telegram Stars. Open /topup and choose again.
decline-wrong-amount = The invoice amount does not match the package. Open /topup and choose again.
paysupport = <b>Payment support</b>
    Write here what went wrong with a payment — the date, the amount in ⭐ and what you expected. An operator answers in this chat within 24 hours. A payment for 💎 that were not credited is checked against Telegram's records and credited or refunded.
terms = <b>Terms</b>
    • 💎 are bought with Telegram Stars and spent on generations in this bot only; they cannot be exchanged back.
    • The price of a generation is shown before you confirm it; it is held on confirm and charged only when the result is delivered. A failed generation is refunded in full.
    • Unused 💎 of a top-up can be refunded through /paysupport within 14 days, minus what was spent.
    • Do not use the bot to create illegal content; such requests are refused by the models.

## Promo codes
promo-usage = Send the code like this: /promo CODE
promo-redeemed = 🎁 Promo code { $code }: +{ $amount } 💎.
    Balance: <b>{ $balance } 💎</b>.
promo-error-unknown = There is no such promo code. Check the spelling.
promo-error-expired = This promo code has expired.
promo-error-disabled = This promo code has been switched off.
promo-error-used-up = This promo code has been used up.
promo-error-already-used = You have already used this promo code.
promo-error-invalid = Usage: /promo_new CODE AMOUNT [USES] [DAYS] — a code of letters and digits, an amount from 1.
promo-error-exists = A promo code with this name already exists.
promo-created = Promo code { $code }: { $amount } 💎, up to { $uses } uses{ $days ->
    [0] {""}
   *[other] , valid for { $days } days
}.
promo-list-empty = There are no promo codes yet. Create one with /promo_new.
promo-line = { $code } · { $amount } 💎 · used { $uses } of { $max }{ $state ->
    [off] {" "}· switched off
   *[on] {""}
}
promo-off-usage = Usage: /promo_off CODE
promo-switched-off = Promo code { $code } is switched off.

## Free tries
model-button-free = 🎁 { $name } — free today
confirm-free = 🎁 Free today ({ $left } left): nothing is held for this run.

btn-confirm-free = ✅ Confirm — free

status-done-free = ✅ { $model } (#{ $job }): ready! It was a free try.
status-failed-free = ❌ { $model } (#{ $job }): { $reason }
    Your free try is back.

## Operator
granted-user = 🎁 The operator added { $amount } 💎 to your balance.
    Balance: <b>{ $balance } 💎</b>.
refund-usage = Usage: /refund CHARGE_ID (the telegram_payment_charge_id of the payment).
refund-done = Refunded { $stars } ⭐ of payment { $charge }: { $debited } 💎 taken from user { $user_id }. Their balance: { $balance } 💎.
refund-error-unknown-charge = There is no payment with this charge id.
refund-error-already-refunded = This payment has already been refunded.
refund-error-balance-too-low = The user's balance no longer covers the 💎 of this payment: nothing was refunded.
refund-error-rejected = Telegram refused the refund ({ $detail }). Nothing was taken from the balance.
refund-error-uncertain = Telegram did not answer. The 💎 stay set aside; send the same /refund again to retry.
ledger-usage = Usage: /ledger USER_ID
ledger-caption = Ledger of user { $user_id }
