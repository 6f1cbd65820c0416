## Варианты ×N на экране подтверждения

btn-variants = 🔢 Варианты
btn-variants-count = 🔢 Варианты: ×{ $count }
variants-title = <b>{ $model }</b> — варианты
variants-hint = Запустите те же параметры несколько раз (от ×2 до ×{ $most }) или меняйте один параметр: по запуску на каждое отмеченное значение. Каждый запуск оплачивается отдельно: неудавшийся ничего не стоит.
btn-copies = ×{ $count }
btn-vary = 🎛 Менять: { $field }
vary-title = <b>{ $field }</b>: отметьте от { $least } до { $most } значений, по запуску на каждое.
vary-ticked = Отмечено: { $count }.
btn-vary-done = ✅ Готово ({ $count })
vary-too-many = Не больше { $most } значений. Сначала снимите отметку с одного.
vary-too-few = Отметьте хотя бы { $least } значения или вернитесь назад.
variant-copy = Вариант { $number }
confirm-copies = 🔢 Варианты: ×{ $count } с одинаковыми параметрами (бесплатные попытки на варианты не тратятся)
confirm-varied = 🔢 Варианты: { $field } — { $values } (бесплатные попытки на варианты не тратятся)
confirm-batch-price = Цена: { $count } × { $price } 💎 = <b>{ $total } 💎</b>
confirm-batch-price-max = Цена: до { $count } × { $price } 💎 = <b>{ $total } 💎</b> (резервируется сейчас; списывается фактическая цена после запусков)
confirm-batch-each = • { $value } — { $price } 💎
confirm-batch-total = Итого: <b>{ $total } 💎</b>
confirm-batch-total-max = Итого: до <b>{ $total } 💎</b> (резервируется сейчас; списывается фактическая цена после запусков)
btn-confirm-batch = ✅ Подтвердить ×{ $count } — { $total } 💎

## Сообщение о состоянии пакета и результаты

batch-waiting = ⏳ { $model } ×{ $count } (#{ $job }): подтверждено, зарезервировано { $price } 💎. Запускаем…
batch-progress = 🎨 { $model } ×{ $count } (#{ $job }): готово { $ready } из { $count }
batch-delivering = 📤 { $model } ×{ $count } (#{ $job }): готово { $ready } из { $count }, отправляем результаты…
batch-bar = { $bar } { $percent }%
batch-variant-failed = ❌ { $variant } — не получилось: { $reason }
batch-done = ✅ { $model } ×{ $count } (#{ $job }): готово { $ready } из { $count }! Списано { $charged } 💎.
batch-released = Зарезервированные { $released } 💎 за неудавшиеся запуски вернулись на баланс.
batch-failed = ❌ { $model } ×{ $count } (#{ $job }): ни один запуск не удался. Зарезервированные { $price } 💎 вернулись на баланс.
batch-cancelled = ❌ { $model } ×{ $count } (#{ $job }): отменено до запуска. Зарезервированные { $price } 💎 вернулись на баланс.
batch-too-late = Часть запусков уже отправлена модели, поэтому варианты больше нельзя отменить.
btn-try-again-variant = 🔁 Повторить: { $variant }
