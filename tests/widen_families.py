"""Small families for the widening tests (tests/test_widen.py, tests/test_extract.py)."""

TRIP = '''family trip_weather {
  "Weather for a city over some days."
  enum City { paris, tokyo, new_york = "new york" }
  param city : City
  param days : Int in 1..14 = 1
  grammar ignore_case normalize_space {
    "weather in " city (" for " number(days) " days")?
  }
  program -> Text = "${city} for ${days} days"
  example "weather in paris" => { city = paris } => "paris for 1 days"
}
'''

CAB = '''family cab {
  "Book a cab to a city."
  enum City { paris, tokyo }
  param city : City
  grammar ignore_case normalize_space { ("cab" | "taxi") " to " city }
  program -> Text = "cab to ${city}"
  example "cab to paris" => { city = paris } => "cab to paris"
}
'''

GREET = '''family greet {
  "Greet a person by name."
  param name : Text(max 20, pattern [A-Z] [a-z]+ ("-" [A-Z] [a-z]+)?)
  grammar ignore_case normalize_space { "greet " name }
  program -> Text = "hi ${name}"
  example "greet Ann" => { name = "Ann" } => "hi Ann"
}
'''
