## Commands menu
cmd-start = Main menu
cmd-models = Model catalogue
cmd-balance = My balance
cmd-history = Recent generations
cmd-language = Change language
cmd-help = How the bot works
cmd-topup = Top up with Telegram Stars
cmd-promo = Use a promo code
cmd-paysupport = Help with a payment
cmd-terms = Terms of payment and use
cmd-cancel = Cancel the current form

## Menu
home = 👋 I create images, video and audio with AI models from KIE.ai.
    Balance: <b>{ $balance } 💎</b>
    Pick a model, fill in its parameters step by step, see the exact price, confirm — and get the result here.
welcome-bonus = 🎁 Welcome! You got { $bonus } 💎 to try the models.
help = <b>How it works</b>
    1. /models — choose a category and a model; its card shows the price range.
    2. Answer the steps: buttons for choices, a number or text where asked, photos/videos/audio for file fields. Every step has a hint; ◀ Back and ✖ Cancel work everywhere.
    3. On the confirmation screen check the values and the exact price, edit any of them, then confirm.
    4. The price is held from your balance; you pay only when the result is delivered. A failed generation is refunded in full.
    /balance — your balance, /history — repeat a past generation, /language — change language, /cancel — drop the current form.
balance = Your balance: <b>{ $balance } 💎</b>
balance-held = Held for running generations: { $held } 💎
choose-language = Choose your language:
language-ru = 🇷🇺 Русский (Russian)
language-en = 🇬🇧 English
language-set = Language set to English.
nothing-to-cancel = There is nothing to cancel.
private-only = I work in private chats only. Open a chat with me to create images, video and audio.
fallback = I did not get that. Open /models to pick a model, or /help to see how the bot works.
btn-generate = 🎨 Create
btn-balance = 💎 Balance
btn-history = 📜 History
btn-language = 🌐 Language
btn-help = ❓ Help
btn-home = 🏠 Main menu
btn-back = ◀ Back
btn-cancel = ✖ Cancel

## Catalogue
choose-category = Choose a category:
choose-task = { $category }: what do you want to do?
choose-model = { $task }: choose a model (the price is per run, from):
model-button = { $name } — from { $price } 💎
model-gone = This model is not available any more. Open /models to choose another one.
card-task = Task: { $task }
card-params = Parameters: { $total } (required: { $required })
price-fixed = Price: <b>{ $price } 💎</b>
price-range = Price: <b>{ $low }–{ $high } 💎</b> depending on the parameters
btn-start-model = ▶ Start

## Wizard steps
step-header = { $model } · step { $number } of { $total }
optional-mark = (optional)
default-is = Default: <b>{ $value }</b>
current-is = Now: <b>{ $value }</b>
items-added = Added: { $count }
collected = Received files: { $count }
text-parts = Text received so far: { $chars } characters
rule-choice = Choose one of the buttons.
rule-integer-range = Send a whole number from { $min } to { $max }, or tap a preset.
rule-number-range = Send a number from { $min } to { $max } (a fraction is fine), or tap a preset.
rule-integer = Send a whole number.
rule-number = Send a number.
rule-text = Send a text of up to { $max } characters. A longer text can be sent in several messages or as a .txt file.
rule-text-free = Send a text. A long text can be sent in several messages or as a .txt file.
rule-file = Send { $media ->
    [image] a photo (as a photo or as a file)
    [video] a video
    [audio] an audio file or a voice message
   *[other] a file
}.
rule-files = Send { $media ->
    [image] photos
    [video] videos
    [audio] audio files
   *[other] files
} one by one: at least { $min }{ $max ->
    [0] {""}
   *[other] , at most { $max }
}. Then tap Done.
rule-texts = Send the values one message each{ $max ->
    [0] {""}
   *[other] , at most { $max }
}, then tap Done.
rule-json = Send the value as JSON.
rule-objects = Add the entries one by one{ $max ->
    [0] {""}
   *[other] (at most { $max })
}, then tap Done.
btn-done-count = ✅ Done ({ $count })
btn-add-item = ➕ Add an entry
btn-items-done = ✅ Done
btn-text-done = ✅ That is the whole text
btn-keep-default = ⏭ Keep the default
btn-skip = ⏭ Skip
btn-defaults-rest = ⏩ Defaults for all the rest
yes = Yes
no = No
text-part-received = Got a part of the text ({ $chars } characters so far). Send the next part, or tap “That is the whole text”.
stale-button = This button is from an older screen. Use the latest message.
wizard-cancelled = The form is cancelled. Nothing was charged.
wizard-expired = This form is no longer open. Start again with /models.
confirm-use-buttons = Everything is filled in: use the buttons above to edit a value, confirm or cancel.
try-again = Please try again.

## Answer errors
err-not-a-number = That is not a number.
err-integer = A whole number is needed, without a fraction.
err-number-range = The number must be from { $min } to { $max }.
err-number-min = The number must be at least { $min }.
err-number-max = The number must be at most { $max }.
err-text-too-long = The text is too long: { $length } characters, the limit is { $max }.
err-text-parts-too-long = With this part the text would be longer than { $max } characters, the limit of this field. The { $chars } characters received so far are kept: send a shorter last part, or tap “That is the whole text”.
err-text-too-short = The text is too short: at least { $min } characters are needed.
err-empty = The answer is empty.
err-multiple-of = The number must be a multiple of { $step }.
err-media-too-long = The file is { $seconds } s long; this model takes at most { $max } s. Send a shorter one.
err-choice = That is not one of the options. Tap one of the buttons.
err-bool = Answer yes or no (or tap a button).
err-json = This is not valid JSON or does not fit the expected form: { $error }
err-pattern = The value has the wrong format (expected pattern: { $pattern }).
err-use-buttons = Use the buttons of this step.
err-expected-text = A text is expected here (or a .txt file).
err-expected-file = { $media ->
    [image] A photo is expected here. Send it as a photo or as an image file.
    [video] A video is expected here.
    [audio] An audio file or a voice message is expected here.
   *[other] A file is expected here.
}
err-file-too-large = The file is larger than 20 MB, which Telegram does not let bots download. Send a smaller or compressed file.
err-upload-failed = Could not upload the file to the generation service. Please send it again in a minute.
err-text-encoding = Could not read the file as text. Save it as UTF-8 .txt and send it again.

## Confirmation
confirm-title = <b>{ $model }</b> — check the parameters:
value-files = { $count ->
    [one] 1 file
   *[other] { $count } files
}
value-items = { $count ->
    [one] 1 entry
   *[other] { $count } entries
}
value-default = { $value } (default)
value-unset = not set
confirm-no-price = ⚠️ This combination of values has no price. Change one of them.
confirm-price = Price: <b>{ $price } 💎</b>
confirm-price-max = Price: up to <b>{ $price } 💎</b> (held now; you pay the actual price after the run)
confirm-balance = Balance: { $balance } 💎 → after: { $after } 💎
confirm-short = ⚠️ You are { $shortfall } 💎 short.
btn-confirm = ✅ Confirm — { $price } 💎
already-started = This generation has already started.
started = Started!
cannot-start = These values cannot be sent. Edit them and try again.
not-enough-balance = Not enough balance: you are { $shortfall } 💎 short (balance: { $balance } 💎). Nothing was started. Change the parameters or top up your balance.

## Status
status-accepted = ⏳ { $model } (#{ $job }): confirmed, { $price } 💎 held. Starting…
status-waiting = ⏳ { $model } (#{ $job }): confirmed, { $price } 💎 held. Waiting in line — your other generations are running{ $ahead ->
    [0] ; this one is next.
   *[other] ; { $ahead } ahead of it.
}
status-submitting = 🚀 { $model } (#{ $job }): sending the task…
status-queued = 🕒 { $model } (#{ $job }): queued at the model, starting soon…
status-generating = 🎨 { $model } (#{ $job }): generating…
    { $bar } { $percent }%
status-delivering = 📤 { $model } (#{ $job }): done, sending the result…
status-done = ✅ { $model } (#{ $job }): ready! Charged { $charged } 💎.
status-failed = ❌ { $model } (#{ $job }): { $reason }
    The held { $price } 💎 are back on your balance.
btn-cancel-job = ✖ Cancel
btn-try-again = 🔁 Try again
job-too-late = It has already been sent to the model and can no longer be cancelled.
job-gone = This generation cannot be tried again: its model is no longer offered.
result-caption = { $model } · #{ $job }
fail-generation = the model could not generate a result.
fail-rejected = the service rejected the parameters.
fail-service = the generation service is unavailable right now. Please try later.
fail-timeout = the generation took too long and was stopped.
fail-file = the service could not read an input file. Send the file again.
fail-interrupted = the task was interrupted before it reached the service.
fail-unavailable = this model is not available any more.
fail-policy = the model refused the request under its content rules. Change the prompt or the images.
fail-cancelled = cancelled before it started.
fail-undelivered = the result could not be delivered to this chat.

## History
history-title = <b>Recent generations</b>
history-empty = You have no generations yet.
history-line = #{ $job } · { $model } · { $state } · { $price } 💎 · { DATETIME($when, dateStyle: "short", timeStyle: "short") }
state-waiting = waiting
state-submitting = starting
state-running = running
state-delivering = sending
state-done = done
state-failed = failed, refunded
btn-repeat = 🔁 Repeat #{ $job }
btn-edit-repeat = ✏️ Edit #{ $job }

## Admin
admin-only = This command is for the bot's operators.
grant-usage = Usage: /grant &lt;user_id&gt; &lt;amount&gt;, amount from 1 to { $max }.
grant-no-user = User { $user_id } has not started the bot yet.
granted = Granted { $amount } 💎 to { $user_id }. Their balance: { $balance } 💎.

## Operator alerts
alert-kie-credits = ⚠️ The KIE account is out of credits: new generations are paused. Top up the KIE account.
alert-model-disabled = ⚠️ KIE disabled the model { $model }: it is no longer offered. Jobs that had not reached KIE are refunded; tasks already running there finish and are delivered.
alert-kie-auth = ⚠️ KIE refused a task with code { $code }: check the KIE API key.
alert-kie-polling = ⚠️ Checking task status at KIE fails with code { $code }.
alert-orphan-task = ⚠️ KIE task { $task } ran for job #{ $job } (user { $user_id }, { $model }) after the job was settled: its KIE credits were spent; the user was not charged and got nothing.
alert-kie-quota = ⚠️ KIE refused a task with code 433: the API key's usage limit is reached. Raise it in the KIE dashboard.
alert-kie-account = ⚠️ KIE refuses to show the account's credits (code { $code }): check the KIE API key and the account.
alert-kie-credits-low = ⚠️ The KIE account has { $credits } credits left, below the alert level of { $threshold }. Top it up before generations stop.

## Operator statistics (/stats)
stats-title = 📊 <b>Statistics</b>
stats-users = 👥 Users: { $total } · new: { $new_today } today, { $new_week } in 7 days · active: { $active_today } today, { $active_week } in 7 days
stats-generations = 🎨 Generations: { $total }
stats-state-line = · { $state }: { $count }
stats-state-waiting = waiting
stats-state-submitting = starting
stats-state-running = running
stats-state-delivering = sending
stats-state-done = done
stats-state-failed = failed
stats-models-title = Most used models:
stats-model-line = { $place }. { $model } — runs: { $count }
stats-revenue = 💰 Received: { $stars } ⭐ · charged for generations: { $charged } 💎
stats-kie-spent = 🔋 KIE credits spent: { $spent } for { $charged } 💎 charged
stats-kie-balance = 🏦 KIE account: { $credits } credits
stats-kie-balance-unknown = 🏦 KIE account: KIE did not answer; try again in a minute.

## Errors
error-generic = Something went wrong on our side. Your data and balance are safe; please try again.
