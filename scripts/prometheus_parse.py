#!/usr/bin/env python3
"""An independent reading of a Prometheus scrape, for the tests of Plenum's `/metrics`.

Usage: prometheus_parse.py < SCRAPE

Parses standard input with the Prometheus project's own Python client
(`prometheus_client.parser.text_string_to_metric_families`) and prints a JSON array with one
object per sample:
  {"family": ..., "type": "counter" | "gauge" | "histogram" | ..., "name": ..., "labels": {...},
   "value": 1.0}
(a value that is not finite is written as the string Python gives it, "inf" or "nan").

Fails loudly (the parser's message on stderr, exit status 1) on anything that is not the
text format: a malformed line, label or value, a sample of the wrong type's names.
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    samples = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        for sample in family.samples:
            value = sample.value
            samples.append(
                {
                    "family": family.name,
                    "type": family.type,
                    "name": sample.name,
                    "labels": sample.labels,
                    "value": value if math.isfinite(value) else str(value),
                }
            )
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
