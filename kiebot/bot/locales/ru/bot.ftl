## Commands menu
cmd-start = Главное меню
cmd-models = Каталог моделей
cmd-balance = Мой баланс
cmd-history = Последние генерации
cmd-language = Сменить язык
cmd-help = Как работает бот
cmd-topup = Пополнить звёздами Telegram
cmd-promo = Ввести промокод
cmd-paysupport = Помощь с оплатой
cmd-terms = Условия оплаты и использования
cmd-cancel = Отменить текущую форму

## Menu
home = 👋 Я создаю изображения, видео и аудио с помощью ИИ-моделей KIE.ai.
    Баланс: <b>{ $balance } 💎</b>
    Выберите модель, заполните её параметры по шагам, посмотрите точную цену, подтвердите — и получите результат здесь.
welcome-bonus = 🎁 Добро пожаловать! Вам начислено { $bonus } 💎, чтобы попробовать модели.
help = <b>Как это работает</b>
    1. /models — выберите категорию и модель; в её карточке указан диапазон цен.
    2. Отвечайте на шаги: кнопки для вариантов, число или текст, где их просят, фото/видео/аудио для файловых полей. На каждом шаге есть подсказка; ◀ Назад и ✖ Отмена работают везде.
    3. На экране подтверждения проверьте значения и точную цену, измените любое из них и подтвердите.
    4. Цена резервируется на балансе; списывается она только после доставки результата. Неудачная генерация возвращается полностью.
    /balance — баланс, /history — повторить прошлую генерацию, /language — сменить язык, /cancel — сбросить текущую форму.
balance = Ваш баланс: <b>{ $balance } 💎</b>
balance-held = Зарезервировано под идущие генерации: { $held } 💎
choose-language = Выберите язык:
language-ru = 🇷🇺 Русский
language-en = 🇬🇧 English (английский)
language-set = Язык переключён на русский.
nothing-to-cancel = Отменять нечего.
private-only = Я работаю только в личных сообщениях. Откройте чат со мной, чтобы создавать картинки, видео и аудио.
fallback = Я не понял сообщение. Откройте /models, чтобы выбрать модель, или /help, чтобы узнать, как работает бот.
btn-generate = 🎨 Создать
btn-balance = 💎 Баланс
btn-history = 📜 История
btn-language = 🌐 Язык
btn-help = ❓ Помощь
btn-home = 🏠 Главное меню
btn-back = ◀ Назад
btn-cancel = ✖ Отмена

## Catalogue
choose-category = Выберите категорию:
choose-task = { $category }: что хотите сделать?
choose-model = { $task }: выберите модель (цена за запуск, от):
model-button = { $name } — от { $price } 💎
model-gone = Эта модель больше недоступна. Откройте /models и выберите другую.
card-task = Задача: { $task }
card-params = Параметров: { $total } (обязательных: { $required })
price-fixed = Цена: <b>{ $price } 💎</b>
price-range = Цена: <b>{ $low }–{ $high } 💎</b> в зависимости от параметров
btn-start-model = ▶ Начать

## Wizard steps
step-header = { $model } · шаг { $number } из { $total }
optional-mark = (необязательно)
default-is = По умолчанию: <b>{ $value }</b>
current-is = Сейчас: <b>{ $value }</b>
items-added = Добавлено: { $count }
collected = Получено файлов: { $count }
text-parts = Получено текста: { $chars } симв.
rule-choice = Выберите один из вариантов кнопкой.
rule-integer-range = Отправьте целое число от { $min } до { $max } или нажмите готовый вариант.
rule-number-range = Отправьте число от { $min } до { $max } (можно дробное) или нажмите готовый вариант.
rule-integer = Отправьте целое число.
rule-number = Отправьте число.
rule-text = Отправьте текст длиной до { $max } символов. Длинный текст можно прислать несколькими сообщениями или файлом .txt.
rule-text-free = Отправьте текст. Длинный текст можно прислать несколькими сообщениями или файлом .txt.
rule-file = Отправьте { $media ->
    [image] фото (как фото или файлом)
    [video] видео
    [audio] аудиофайл или голосовое сообщение
   *[other] файл
}.
rule-files = Отправляйте { $media ->
    [image] фото
    [video] видео
    [audio] аудиофайлы
   *[other] файлы
} по одному: не меньше { $min }{ $max ->
    [0] {""}
   *[other] , не больше { $max }
}. Затем нажмите «Готово».
rule-texts = Отправляйте значения по одному в сообщении{ $max ->
    [0] {""}
   *[other] , не больше { $max }
}, затем нажмите «Готово».
rule-json = Отправьте значение в формате JSON.
rule-objects = Добавляйте записи по одной{ $max ->
    [0] {""}
   *[other] (не больше { $max })
}, затем нажмите «Готово».
btn-done-count = ✅ Готово ({ $count })
btn-add-item = ➕ Добавить запись
btn-items-done = ✅ Готово
btn-text-done = ✅ Это весь текст
btn-keep-default = ⏭ Оставить по умолчанию
btn-skip = ⏭ Пропустить
btn-defaults-rest = ⏩ Остальное по умолчанию
yes = Да
no = Нет
text-part-received = Получена часть текста (пока { $chars } симв.). Пришлите следующую часть или нажмите «Это весь текст».
stale-button = Эта кнопка со старого экрана. Пользуйтесь последним сообщением.
wizard-cancelled = Форма отменена. Ничего не списано.
wizard-expired = Эта форма уже закрыта. Начните заново: /models.
confirm-use-buttons = Всё заполнено: кнопками выше можно изменить значение, подтвердить или отменить.
try-again = Попробуйте ещё раз.

## Answer errors
err-not-a-number = Это не число.
err-integer = Нужно целое число, без дробной части.
err-number-range = Число должно быть от { $min } до { $max }.
err-number-min = Число должно быть не меньше { $min }.
err-number-max = Число должно быть не больше { $max }.
err-text-too-long = Текст слишком длинный: { $length } симв., а можно не больше { $max }.
err-text-parts-too-long = С этой частью текст стал бы длиннее { $max } симв. — это предел поля. Полученные { $chars } симв. сохранены: пришлите последнюю часть короче или нажмите «Это весь текст».
err-text-too-short = Текст слишком короткий: нужно хотя бы { $min } симв.
err-empty = Пустой ответ.
err-multiple-of = Число должно быть кратно { $step }.
err-media-too-long = Длина файла { $seconds } с, а эта модель принимает не больше { $max } с. Пришлите файл покороче.
err-choice = Такого варианта нет. Нажмите одну из кнопок.
err-bool = Ответьте «да» или «нет» (или нажмите кнопку).
err-json = Это не корректный JSON или он не подходит по форме: { $error }
err-pattern = Значение в неверном формате (ожидается шаблон: { $pattern }).
err-use-buttons = Воспользуйтесь кнопками этого шага.
err-expected-text = Здесь нужен текст (или файл .txt).
err-expected-file = { $media ->
    [image] Здесь нужно фото. Пришлите его как фото или как файл-изображение.
    [video] Здесь нужно видео.
    [audio] Здесь нужен аудиофайл или голосовое сообщение.
   *[other] Здесь нужен файл.
}
err-file-too-large = Файл больше 20 МБ — Telegram не даёт ботам скачивать такие. Пришлите файл поменьше или сожмите его.
err-upload-failed = Не удалось загрузить файл в сервис генерации. Пришлите его ещё раз через минуту.
err-text-encoding = Не удалось прочитать файл как текст. Сохраните его как .txt в UTF-8 и пришлите снова.

## Confirmation
confirm-title = <b>{ $model }</b> — проверьте параметры:
value-files = { $count ->
    [one] { $count } файл
    [few] { $count } файла
   *[other] { $count } файлов
}
value-items = { $count ->
    [one] { $count } запись
    [few] { $count } записи
   *[other] { $count } записей
}
value-default = { $value } (по умолчанию)
value-unset = не задано
confirm-no-price = ⚠️ У такого сочетания значений нет цены. Измените одно из них.
confirm-price = Цена: <b>{ $price } 💎</b>
confirm-price-max = Цена: до <b>{ $price } 💎</b> (резервируем сейчас, списываем фактическую после генерации)
confirm-balance = Баланс: { $balance } 💎 → после: { $after } 💎
confirm-short = ⚠️ Не хватает { $shortfall } 💎.
btn-confirm = ✅ Подтвердить — { $price } 💎
already-started = Эта генерация уже запущена.
started = Запущено!
cannot-start = Эти значения нельзя отправить. Измените их и попробуйте снова.
not-enough-balance = Недостаточно средств: не хватает { $shortfall } 💎 (баланс: { $balance } 💎). Ничего не запущено. Измените параметры или пополните баланс.

## Status
status-accepted = ⏳ { $model } (#{ $job }): подтверждено, зарезервировано { $price } 💎. Запускаем…
status-waiting = ⏳ { $model } (#{ $job }): подтверждено, зарезервировано { $price } 💎. Ждёт очереди — идут другие ваши генерации{ $ahead ->
    [0] ; эта следующая.
   *[other] ; перед ней ещё { $ahead }.
}
status-submitting = 🚀 { $model } (#{ $job }): отправляем задачу…
status-queued = 🕒 { $model } (#{ $job }): в очереди у модели, скоро начнётся…
status-generating = 🎨 { $model } (#{ $job }): идёт генерация…
    { $bar } { $percent }%
status-delivering = 📤 { $model } (#{ $job }): готово, отправляем результат…
status-done = ✅ { $model } (#{ $job }): готово! Списано { $charged } 💎.
status-failed = ❌ { $model } (#{ $job }): { $reason }
    Зарезервированные { $price } 💎 вернулись на баланс.
btn-cancel-job = ✖ Отменить
btn-try-again = 🔁 Попробовать снова
job-too-late = Задача уже отправлена модели, отменить её нельзя.
job-gone = Эту генерацию нельзя повторить: модель больше не предлагается.
result-caption = { $model } · №{ $job }
fail-generation = модель не смогла создать результат.
fail-rejected = сервис отклонил параметры.
fail-service = сервис генерации сейчас недоступен. Попробуйте позже.
fail-timeout = генерация шла слишком долго и была остановлена.
fail-file = сервис не смог прочитать входной файл. Пришлите файл заново.
fail-interrupted = задача прервалась, не дойдя до сервиса.
fail-unavailable = эта модель больше недоступна.
fail-policy = модель отказалась выполнять запрос по своим правилам о содержании. Измените описание или картинки.
fail-cancelled = отменено до запуска.
fail-undelivered = результат не удалось доставить в этот чат.

## History
history-title = <b>Последние генерации</b>
history-empty = У вас пока нет генераций.
history-line = №{ $job } · { $model } · { $state } · { $price } 💎 · { DATETIME($when, dateStyle: "short", timeStyle: "short") }
state-waiting = в очереди
state-submitting = запускается
state-running = генерируется
state-delivering = отправляется
state-done = готово
state-failed = не удалась, возвращено
btn-repeat = 🔁 Повторить №{ $job }
btn-edit-repeat = ✏️ Изменить №{ $job }

## Admin
admin-only = Эта команда — для операторов бота.
grant-usage = Формат: /grant &lt;user_id&gt; &lt;сумма&gt;, сумма от 1 до { $max }.
grant-no-user = Пользователь { $user_id } ещё не запускал бота.
granted = Начислено { $amount } 💎 пользователю { $user_id }. Его баланс: { $balance } 💎.

## Operator alerts
alert-kie-credits = ⚠️ На счёте KIE закончились кредиты: новые генерации приостановлены. Пополните счёт KIE.
alert-model-disabled = ⚠️ KIE отключил модель { $model }: она больше не предлагается. Задачи, не дошедшие до KIE, возвращены; уже запущенные там завершатся и будут доставлены.
alert-kie-auth = ⚠️ KIE отклонил задачу с кодом { $code }: проверьте API-ключ KIE.
alert-kie-polling = ⚠️ Проверка статуса задач в KIE падает с кодом { $code }.
alert-orphan-task = ⚠️ Задача KIE { $task } выполнилась для задания №{ $job } (пользователь { $user_id }, { $model }) уже после его закрытия: кредиты KIE потрачены, с пользователя ничего не списано, и он ничего не получил.
alert-kie-quota = ⚠️ KIE отклонил задачу с кодом 433: исчерпан лимит API-ключа. Поднимите его в кабинете KIE.
alert-kie-account = ⚠️ KIE не показывает остаток кредитов (код { $code }): проверьте API-ключ KIE и счёт.
alert-kie-credits-low = ⚠️ На счёте KIE осталось { $credits } кредитов — меньше порога { $threshold }. Пополните счёт, пока генерации не остановились.

## Operator statistics (/stats)
stats-title = 📊 <b>Статистика</b>
stats-users = 👥 Пользователи: { $total } · новых: { $new_today } сегодня, { $new_week } за 7 дней · активных: { $active_today } сегодня, { $active_week } за 7 дней
stats-generations = 🎨 Генерации: { $total }
stats-state-line = · { $state }: { $count }
stats-state-waiting = в очереди
stats-state-submitting = запускаются
stats-state-running = генерируются
stats-state-delivering = отправляются
stats-state-done = готовы
stats-state-failed = не удались
stats-models-title = Популярные модели:
stats-model-line = { $place }. { $model } — запусков: { $count }
stats-revenue = 💰 Получено: { $stars } ⭐ · списано за генерации: { $charged } 💎
stats-kie-spent = 🔋 Потрачено кредитов KIE: { $spent } при списанных { $charged } 💎
stats-kie-balance = 🏦 Счёт KIE: { $credits } кредитов
stats-kie-balance-unknown = 🏦 Счёт KIE: KIE не ответил, попробуйте через минуту.

## Errors
error-generic = У нас что-то пошло не так. Ваши данные и баланс в порядке; попробуйте ещё раз.
