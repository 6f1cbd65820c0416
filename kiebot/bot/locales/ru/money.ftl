## Balance and movements
balance-movements = <b>Последние движения</b>
movement-line = { DATETIME($when, dateStyle: "short", timeStyle: "short") } · { $what } · { $amount } 💎
movement-none = Движений пока нет.
balance-referral = 👥 Приглашайте друзей по своей ссылке — вы оба получите { $bonus } 💎, когда друг впервые пополнит баланс:
    { $link }
ledger-kind-bonus = приветственный бонус
ledger-kind-grant = от оператора
ledger-kind-topup = пополнение
ledger-kind-hold = резерв под генерацию
ledger-kind-charge = оплата генерации
ledger-kind-release = возврат
ledger-kind-refund = возврат платежа
ledger-kind-refund_undo = отмена возврата
ledger-kind-promo = промокод
ledger-kind-free = бесплатная попытка
ledger-kind-free_back = бесплатная попытка возвращена
ledger-kind-referral = бонус за приглашение
balance-after = Баланс: <b>{ $balance } 💎</b>.
low-balance = ⚠️ На балансе осталось мало: { $balance } 💎. Пополните его командой /topup, чтобы продолжать.

## Top-ups with Telegram Stars
btn-topup = ⭐ Пополнить
topup-title = Выберите пакет. Оплата — звёздами Telegram; 💎 зачисляются сразу после оплаты.
topup-package = { $stars } ⭐ → { $credits } 💎
btn-topup-for = ⭐ Пополнить на { $credits } 💎 за { $stars } ⭐
invoice-title = { $credits } 💎
invoice-description = { $credits } 💎 на генерации в этом боте.
topup-shortfall = Не хватает { $shortfall } 💎. Самый маленький подходящий пакет:
topup-too-much = Не хватает { $shortfall } 💎 — больше самого крупного пакета. Пополните баланс несколько раз через /topup или измените параметры.
payment-receipt = ✅ Оплата получена: { $stars } ⭐ → { $credits } 💎.
    Баланс: <b>{ $balance } 💎</b>.
payment-form-open = Ваша форма всё ещё открыта — вот она с новым балансом:
referral-reward = 🎁 Бонус за приглашение: { $bonus } 💎 за первое пополнение друга. Баланс: <b>{ $balance } 💎</b>.
refunded-outside = ↩️ Платёж на { $stars } ⭐ возвращён: с баланса списано { $debited } 💎.
    Баланс: <b>{ $balance } 💎</b>.
decline-unknown-user = Сначала откройте бота командой /start, затем оплатите.
decline-banned = Платежи с этого аккаунта не принимаются.
decline-unknown-package = Этот пакет больше не продаётся. Откройте /topup и выберите снова.
decline-package-changed = Пакет изменился после выставления счёта. Откройте /topup и выберите снова.
decline-wrong-currency = Этот счёт не в звёздах Telegram. Откройте /topup и выберите снова.
decline-wrong-amount = Сумма счёта не совпадает с пакетом. Откройте /topup и выберите снова.
paysupport = <b>Поддержка по платежам</b>
    Напишите здесь, что пошло не так с платежом: дату, сумму в ⭐ и что вы ожидали. Оператор ответит в этом чате в течение 24 часов. Платёж, за который не зачислились 💎, сверяется с данными Telegram и зачисляется или возвращается.
terms = <b>Условия</b>
    • 💎 покупаются за звёзды Telegram и тратятся только на генерации в этом боте; обратно они не обмениваются.
    • Цена генерации видна до подтверждения; при подтверждении она резервируется и списывается, только когда результат доставлен. Неудавшаяся генерация возвращается полностью.
    • Неиспользованные 💎 пополнения можно вернуть через /paysupport в течение 14 дней, за вычетом потраченного.
    • Не используйте бота для незаконного контента: модели отклоняют такие запросы.

## Promo codes
promo-usage = Отправьте код так: /promo КОД
promo-redeemed = 🎁 Промокод { $code }: +{ $amount } 💎.
    Баланс: <b>{ $balance } 💎</b>.
promo-error-unknown = Такого промокода нет. Проверьте написание.
promo-error-expired = Срок действия промокода истёк.
promo-error-disabled = Этот промокод отключён.
promo-error-used-up = Этот промокод уже израсходован.
promo-error-already-used = Вы уже использовали этот промокод.
promo-error-invalid = Формат: /promo_new КОД СУММА [ИСПОЛЬЗОВАНИЙ] [ДНЕЙ] — код из букв и цифр, сумма от 1.
promo-error-exists = Промокод с таким названием уже есть.
promo-created = Промокод { $code }: { $amount } 💎, до { $uses } использований{ $days ->
    [0] {""}
   *[other] , действует { $days } дн.
}.
promo-list-empty = Промокодов пока нет. Создайте первый командой /promo_new.
promo-line = { $code } · { $amount } 💎 · использован { $uses } из { $max }{ $state ->
    [off] {" "}· отключён
   *[on] {""}
}
promo-off-usage = Формат: /promo_off КОД
promo-switched-off = Промокод { $code } отключён.

## Free tries
model-button-free = 🎁 { $name } — бесплатно сегодня
confirm-free = 🎁 Бесплатно сегодня (осталось { $left }): за этот запуск ничего не резервируется.

btn-confirm-free = ✅ Подтвердить — бесплатно

status-done-free = ✅ { $model } (#{ $job }): готово! Это была бесплатная попытка.
status-failed-free = ❌ { $model } (#{ $job }): { $reason }
    Бесплатная попытка возвращена.

## Operator
granted-user = 🎁 Оператор начислил вам { $amount } 💎.
    Баланс: <b>{ $balance } 💎</b>.
refund-usage = Формат: /refund ID_ПЛАТЕЖА (telegram_payment_charge_id платежа).
refund-done = Возвращено { $stars } ⭐ по платежу { $charge }: у пользователя { $user_id } списано { $debited } 💎. Его баланс: { $balance } 💎.
refund-error-unknown-charge = Платежа с таким ID нет.
refund-error-already-refunded = Этот платёж уже возвращён.
refund-error-balance-too-low = Баланс пользователя уже не покрывает 💎 этого платежа: ничего не возвращено.
refund-error-rejected = Telegram отклонил возврат ({ $detail }). С баланса ничего не списано.
refund-error-uncertain = Telegram не ответил. 💎 отложены; отправьте тот же /refund ещё раз, чтобы повторить.
ledger-usage = Формат: /ledger ID_ПОЛЬЗОВАТЕЛЯ
ledger-caption = Движения пользователя { $user_id }
