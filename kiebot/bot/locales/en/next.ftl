## Continuing from a result: the next steps under it, their model lists, and steps that take an earlier generation

btn-next-animate = 🎬 Animate
btn-next-edit = ✏️ Edit
btn-next-upscale = 🔍 Upscale
btn-next-extend = ➕ Extend
btn-next-cover = 🎤 Cover
# a next step in the list of generations (/history)
btn-next-job = #{ $job } → { $step }
next-models = { $step }: choose a model. The result of generation #{ $job } is already filled in.
next-none = No model can do this with this result now. Open /models to choose another one.
rule-parent = Choose one of your earlier generations with the buttons below
parent-choose = Your generations that fit, newest first:
parent-none = You have no generation this step can use yet. Make one first ({ $models }), then come back to this step: under its result, or here.
value-parent = your earlier generation
value-parent-job = generation #{ $job }
next-which = { $step }: which one of generation #{ $job }?
next-item = № { $number }

# The parts a vocal removal separates a track into (its results' names).
stem-vocals = Vocals
stem-instrumental = Accompaniment
stem-backing-vocals = Backing vocals
stem-drums = Drums
stem-bass = Bass
stem-guitar = Guitar
stem-piano = Piano
stem-keyboard = Keys
stem-percussion = Percussion
stem-strings = Strings
stem-synth = Synth
stem-fx = Effects
stem-brass = Brass
stem-woodwinds = Woodwinds

# under a song: its tracks' lyrics, each in a message under its title (or its number when it has none)
btn-lyrics = 📝 Lyrics
lyrics-title = 📝 Lyrics: <b>{ $title }</b>
lyrics-track = 📝 <b>Track { $number }</b>
