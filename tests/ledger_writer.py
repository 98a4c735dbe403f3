"""The ledger writer shared by tests/test_reliability_store.py and bench/soak.py: a one-family
registry and a writer process that acknowledges each recorded query on stdout."""

FAMILY = """\
family count_to {
  "Count up to a number."
  param n : Int in 1..999
  grammar ignore_case normalize_space {
    "count to " n
  }
  program -> Text = "counting to ${n}"
  example "count to 7" => { n = 7 } => "counting to 7"
}
"""

# A writer process: the handler of DIR on STORE answers queries (a hit on the family, or a miss
# with no model, recorded as an error) and prints one JSON line per acknowledged query: its id
# and utterance.  COUNT < 0: forever (until killed).  Every 10th query also gets feedback.
WRITER = r"""
import json, sys
from ddl.handler import Handler, HandlerConfig
directory, store, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
handler = Handler.open(directory, HandlerConfig(store=store, extract=False), learn_in_background=False)
i = 0
while count < 0 or i < count:
    utterance = f"count to {i % 999 + 1}" if i % 4 else f"{tag} says hello {i}"
    answer = handler.handle(utterance)
    if not answer["recorded"]:
        print(json.dumps({"not_recorded": answer.get("store_error")}), flush=True)
        sys.exit(3)
    line = {"id": answer["id"], "utterance": utterance}
    if i % 10 == 0:
        handler.feedback(answer["id"], "accept", correction=f"{tag} {i}")
        line["feedback"] = f"{tag} {i}"
    print(json.dumps(line), flush=True)
    i += 1
"""
