## Variants ×N on the confirmation

btn-variants = 🔢 Variants
btn-variants-count = 🔢 Variants: ×{ $count }
variants-title = <b>{ $model }</b> — variants
variants-hint = Run the same values several times (×2 to ×{ $most }), or vary one parameter: one run for each value you tick. Each run is paid on its own: a run that fails costs nothing.
btn-copies = ×{ $count }
btn-vary = 🎛 Vary: { $field }
vary-title = <b>{ $field }</b>: tick { $least } to { $most } values, one run each.
vary-ticked = Ticked: { $count }.
btn-vary-done = ✅ Done ({ $count })
vary-too-many = At most { $most } values. Untick one first.
vary-too-few = Tick at least { $least } values, or go back.
variant-copy = Variant { $number }
confirm-copies = 🔢 Variants: ×{ $count } with the same values (free tries are not used for variants)
confirm-varied = 🔢 Variants: { $field } — { $values } (free tries are not used for variants)
confirm-batch-price = Price: { $count } × { $price } 💎 = <b>{ $total } 💎</b>
confirm-batch-price-max = Price: up to { $count } × { $price } 💎 = <b>{ $total } 💎</b> (held now; you pay the actual price after the runs)
confirm-batch-each = • { $value } — { $price } 💎
confirm-batch-total = Total: <b>{ $total } 💎</b>
confirm-batch-total-max = Total: up to <b>{ $total } 💎</b> (held now; you pay the actual price after the runs)
btn-confirm-batch = ✅ Confirm ×{ $count } — { $total } 💎

## A batch's status message and results

batch-waiting = ⏳ { $model } ×{ $count } (#{ $job }): confirmed, { $price } 💎 held. Starting…
batch-progress = 🎨 { $model } ×{ $count } (#{ $job }): { $ready } of { $count } ready
batch-delivering = 📤 { $model } ×{ $count } (#{ $job }): { $ready } of { $count } ready, sending the results…
batch-bar = { $bar } { $percent }%
batch-variant-failed = ❌ { $variant } did not come out: { $reason }
batch-done = ✅ { $model } ×{ $count } (#{ $job }): { $ready } of { $count } ready! Charged { $charged } 💎.
batch-released = The held { $released } 💎 of the runs that failed are back on your balance.
batch-failed = ❌ { $model } ×{ $count } (#{ $job }): none of the runs came out. The held { $price } 💎 are back on your balance.
batch-cancelled = ❌ { $model } ×{ $count } (#{ $job }): cancelled before it started. The held { $price } 💎 are back on your balance.
batch-too-late = Some of these runs have already been sent to the model, so the variants can no longer be cancelled.
btn-try-again-variant = 🔁 Try again: { $variant }
