"""Families the registry tests share (tests/test_registry.py, tests/test_registry_cache.py)."""

CITY_WEATHER = '''
family city_weather {
  "Weather in a city."
  enum City { paris, london, rome }
  param city : City
  grammar { "weather in " city }
  program -> Text = "https://weather.example/${city}"
  example "weather in rome" => { city = rome } => "https://weather.example/rome"
}
'''

# PRIORITY is replaced by a priority line, or by nothing.
PARIS_WEATHER = '''
family paris_weather {
  "Weather in Paris, from a special source."
  PRIORITY
  grammar { "weather in paris" | "paris weather" }
  program -> Text = "https://meteo.example/paris"
  example "paris weather" => {} => "https://meteo.example/paris"
}
'''
