## Продолжение от результата: следующие шаги под ним, списки моделей и шаги, которым нужна прежняя генерация

btn-next-animate = 🎬 Оживить
btn-next-edit = ✏️ Изменить
btn-next-upscale = 🔍 Увеличить
btn-next-extend = ➕ Продлить
btn-next-cover = 🎤 Кавер
# следующий шаг в списке генераций (/history)
btn-next-job = №{ $job } → { $step }
next-models = { $step }: выберите модель. Результат генерации №{ $job } уже подставлен.
next-none = Сейчас ни одна модель не может сделать это с этим результатом. Откройте /models, чтобы выбрать другую.
rule-parent = Выберите одну из ваших прежних генераций кнопками ниже
parent-choose = Подходящие генерации, сначала новые:
parent-none = У вас пока нет генерации, которую можно использовать на этом шаге. Сначала создайте её ({ $models }), затем вернитесь к этому шагу: под её результатом или здесь.
value-parent = ваша прежняя генерация
value-parent-job = генерация №{ $job }
next-which = { $step }: какой из результатов генерации №{ $job }?
next-item = № { $number }

# The parts a vocal removal separates a track into (its results' names).
stem-vocals = Голос
stem-instrumental = Аккомпанемент
stem-backing-vocals = Бэк-вокал
stem-drums = Ударные
stem-bass = Бас
stem-guitar = Гитара
stem-piano = Фортепиано
stem-keyboard = Клавишные
stem-percussion = Перкуссия
stem-strings = Струнные
stem-synth = Синтезатор
stem-fx = Эффекты
stem-brass = Медные духовые
stem-woodwinds = Деревянные духовые

# under a song: its tracks' lyrics, each in a message under its title (or its number when it has none)
btn-lyrics = 📝 Текст песни
lyrics-title = 📝 Текст: <b>{ $title }</b>
lyrics-track = 📝 <b>Трек { $number }</b>
